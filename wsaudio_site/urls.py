from django.contrib import admin
from django.urls import path

from echo import views

urlpatterns = [
    path("", views.index, name="index"),
    path("api/info/", views.api_info, name="api-info"),
    path("docs/protocol.md", views.protocol_doc, name="protocol-doc"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
