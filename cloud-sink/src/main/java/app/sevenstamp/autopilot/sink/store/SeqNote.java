package app.sevenstamp.autopilot.sink.store;

/**
 * What one event's sequence number changed about its device's gaps.
 *
 * @param opened the gap this event revealed (it came after a missing range), or null
 * @param filled the gap this event fell into (it was missing and arrived late), or null
 */
public record SeqNote(SeqGap opened, SeqGap filled) {
    public static final SeqNote NONE = new SeqNote(null, null);
}
