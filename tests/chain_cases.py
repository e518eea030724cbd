"""Chains and options that the consumer tests and the live tests both try."""

CHAIN = "highpass,compressor,gain"
CHAIN_QUERY = f"processor={CHAIN}&gain.db=-6&highpass.cutoff_hz=300"
CHAIN_OPTIONS = {"gain": {"db": "-6"}, "highpass": {"cutoff_hz": "300"}}

# Each bad chain or option at 16384 Hz, and what the bad_request's detail says.
BAD_QUERIES = [
    ("processor=nope", "processor 'nope' is unknown; use one or more of echo,"),
    ("processor=gain,", "processor '' is unknown"),
    ("processor=", "processor '' is unknown"),
    ("processor=gain,gain", "processor 'gain' is named twice"),
    (
        "processor=echo,gain,highpass,lowpass,compressor,limiter,delay,reverb,robot",
        "the chain has 9 processors; at most 8",
    ),
    ("processor=gain&gain.loud=1", "gain has no option 'loud'; its options: db"),
    (
        "processor=gain&gain.db=loud",
        "gain.db is 'loud', not a number; use a number",
    ),
    ("processor=gain&gain.db=99", "gain.db is 99, out of range; use a number from"),
    ("processor=gain&gain.db=inf", "gain.db is 'inf', not a number"),
    ("processor=gain&gain.db=1e400", "gain.db is not finite"),
    ("processor=gain&gain.db=", "gain.db is empty"),
    ("processor=gain&gain.db=1&gain.db=2", "query key 'gain.db' is given twice"),
    ("processor=gain&delay.mix=1", "sets an option of 'delay', which is not in"),
    ("gain.db=1", "sets an option of 'gain', which is not in the chain"),
    ("processor=lowpass&lowpass.order=2.5", "lowpass.order is '2.5', not an int"),
    (
        "processor=lowpass&lowpass.cutoff_hz=8000",
        "lowpass.cutoff_hz is 8000, out of range; use a number from 10 to 7372.8 Hz",
    ),
    ("processor=gain&Gain.db=1", "query key 'Gain.db' is unknown"),
]
