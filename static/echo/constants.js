/** The browser client's defaults: one home for every number the page and worklets share. */

/** Samples per second the page sends and receives (the session's `<rate>`). */
export const TARGET_DOWNSAMPLE_RATE = 16384;

/** Samples per frame: 1024 samples at 16384 Hz = 62.5 ms of audio. */
export const EXPECTED_BUFFER_SIZE = 1024;

/** Wire format of the frames: "f32" or "s16" (docs/protocol.md). */
export const DEFAULT_FORMAT = "f32";

/** The server-side processor a session asks for. */
export const DEFAULT_PROCESSOR = "echo";

/**
 * Audio the playback jitter buffer holds before it plays, in frames. Replies arrive
 * one frame at a time, so the level swings by a frame: two frames keep at least one
 * frame (62.5 ms at the defaults) in hand for network jitter.
 */
export const DEFAULT_JITTER_FRAMES = 2;

/**
 * Frames the playback buffer may hold beyond its target before the oldest audio is
 * dropped (an overrun), so that latency cannot creep up after a stall.
 */
export const JITTER_HEADROOM_FRAMES = 2;

/** Resampler design: flat to this fraction of the lower rate... */
export const PASSBAND_FRACTION = 0.4;
/** ...and at least ATTENUATION_DB down from this fraction (the lower Nyquist) on. */
export const STOPBAND_FRACTION = 0.5;
export const ATTENUATION_DB = 70;

/** How often the worklets and the page publish their counters, in milliseconds. */
export const REPORT_INTERVAL_MS = 100;
