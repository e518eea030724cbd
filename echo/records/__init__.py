"""Session records: the flusher, their ORM writes, and what reports make of them."""
