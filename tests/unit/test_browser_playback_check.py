"""The browser test's playback check finds skips, damage and gaps where they are."""

import numpy as np
import pytest

from tests.browser.playback import BLOCK, compare_playback

PRE_BUFFER = 5000  # samples of silence before playback starts


@pytest.fixture
def expected() -> np.ndarray:
    """Sound, a stretch of silence, then sound again, as received and upsampled."""
    rng = np.random.default_rng(3)
    sound = rng.uniform(-0.5, 0.5, 40 * BLOCK).astype(np.float32)
    sound[12 * BLOCK : 16 * BLOCK] = 0.0
    return np.concatenate([np.zeros(700, np.float32), sound])


def playing(audio: np.ndarray) -> np.ndarray:
    return np.concatenate([np.zeros(PRE_BUFFER, np.float32), audio])


def test_exact_playback_is_compared_whole(expected):
    result = compare_playback(playing(expected), expected)
    assert result.compared == 40 * BLOCK
    assert (result.skips, result.damaged, result.gaps) == (0, 0, 0)


def test_audio_dropped_in_the_middle_of_sound_is_one_skip(expected):
    played = playing(np.delete(expected, np.s_[5000:5700]))
    result = compare_playback(played, expected)
    assert (result.skips, result.damaged) == (1, 0)
    assert result.compared >= 40 * BLOCK - 700 - 2 * BLOCK


def test_audio_dropped_just_before_silence_is_one_skip(expected):
    end_of_sound = 700 + 12 * BLOCK
    played = playing(
        np.delete(expected, np.s_[end_of_sound - 600 : end_of_sound - 100])
    )
    result = compare_playback(played, expected)
    assert (result.skips, result.damaged) == (1, 0)
    assert result.compared >= 40 * BLOCK - 500 - 2 * BLOCK


def test_a_changed_sample_is_one_damaged_block(expected):
    played = playing(expected)
    played[PRE_BUFFER + 9000] += 1e-4
    result = compare_playback(played, expected)
    assert (result.skips, result.damaged, result.compared) == (0, 1, 39 * BLOCK)


@pytest.mark.parametrize("kind", ["silence", "repeat"])
def test_silence_or_a_repeat_inside_the_sound_is_one_gap(expected, kind):
    inserted = np.zeros(300, np.float32) if kind == "silence" else expected[8700:9000]
    played = playing(np.concatenate([expected[:9000], inserted, expected[9000:]]))
    result = compare_playback(played, expected)
    assert (result.gaps, result.skips, result.damaged) == (1, 0, 0)


def test_audio_that_was_never_received_ends_the_walk(expected):
    played = playing(expected)
    played[PRE_BUFFER + 9000 : PRE_BUFFER + 9000 + 2 * BLOCK] = 0.25
    result = compare_playback(played, expected)
    assert result.compared < 9000
