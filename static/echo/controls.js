/**
 * The page's settings form: filled from the page's address and from what the server
 * offers (`/api/info/`), read into `AudioSession` options, written back to the address.
 */

/** Address parameters with a form field of the same name: a number or a name each. */
const FIELDS = ["rate", "frame", "format", "processor", "depth"];
/** Address parameter → the getUserMedia constraint its switch sets. */
const SWITCHES = { ec: "echoCancellation", ns: "noiseSuppression", agc: "autoGainControl" };

export class SettingsForm {
  /** @param {HTMLFormElement} form */
  constructor(form) {
    this.form = form;
    this.fields = form.elements;
  }

  /** Show `options` (as `AudioSession.options` holds them): the defaults, at first. */
  show({ targetRate, frameSize, format, processor, depthFrames, constraints }) {
    const { rate, frame, depth } = this.fields;
    [rate.value, frame.value, depth.value] = [targetRate, frameSize, depthFrames];
    choose(this.fields.format, format);
    choose(this.fields.processor, processor);
    for (const [name, constraint] of Object.entries(SWITCHES))
      this.fields[name].checked = Boolean(constraints[constraint]);
  }

  /** Put the values of `?rate=&frame=&format=&processor=&depth=&ec=&ns=&agc=` in place. */
  fillFromQuery(search) {
    const query = new URLSearchParams(search);
    for (const name of FIELDS) {
      if (!query.has(name)) continue;
      const field = this.fields[name];
      if (field instanceof HTMLSelectElement) choose(field, query.get(name));
      else field.value = query.get(name);
    }
    for (const name of Object.keys(SWITCHES)) {
      if (query.has(name))
        this.fields[name].checked = ["1", "true", "on"].includes(query.get(name));
    }
  }

  /** Offer what the server offers: its processors and formats, its range of rates. */
  applyServerInfo(info) {
    this.fields.rate.min = info.rates.min;
    this.fields.rate.max = info.rates.max;
    replaceOptions(
      this.fields.format,
      info.formats.map(({ name, description }) => [name, `${name}: ${description}`]),
    );
    replaceOptions(
      this.fields.processor,
      info.processors.map(({ name, description }) => [name, `${name}: ${description}`]),
    );
  }

  /**
   * The session options the form holds.
   * @throws {RangeError} naming the first field that holds no usable value
   */
  options() {
    const { rate, frame, format, processor, depth } = this.fields;
    const constraints = {};
    for (const [name, constraint] of Object.entries(SWITCHES))
      constraints[constraint] = this.fields[name].checked;
    return {
      targetRate: positive(rate, "the sample rate", Number.isInteger),
      frameSize: positive(frame, "the frame size", Number.isInteger),
      depthFrames: positive(depth, "the jitter buffer", Number.isFinite),
      format: format.value,
      processor: processor.value,
      constraints,
    };
  }

  /** The address that opens the page with these settings. */
  query() {
    const query = new URLSearchParams();
    for (const name of FIELDS) query.set(name, this.fields[name].value);
    for (const name of Object.keys(SWITCHES)) if (this.fields[name].checked) query.set(name, "1");
    return `?${query}`;
  }

  /** Settings are fixed while a session runs. */
  lock(locked) {
    for (const fieldset of this.form.querySelectorAll("fieldset")) fieldset.disabled = locked;
  }
}

/** Choose `value`; one the server does not offer stays possible: the server decides. */
function choose(select, value) {
  if (![...select.options].some((option) => option.value === value)) {
    select.add(new Option(value, value), 0);
  }
  select.value = value;
}

/** New choices for `select`; the one chosen stays chosen, offered or not. */
function replaceOptions(select, choices) {
  const chosen = select.value;
  select.replaceChildren(...choices.map(([value, text]) => new Option(text, value)));
  if (chosen) choose(select, chosen);
}

function positive(field, what, isNumber) {
  const value = Number(field.value);
  if (field.value.trim() === "" || !isNumber(value) || value <= 0) {
    const kind = isNumber === Number.isInteger ? "a positive whole number" : "a positive number";
    throw new RangeError(`${what} must be ${kind}, not "${field.value}"`);
  }
  return value;
}
