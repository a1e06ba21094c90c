package app.sevenstamp.autopilot.protocol;

import java.util.regex.Pattern;

/**
 * The formats and lengths of a stamp event's fields, checked when one is decoded: a box or a till
 * is not trusted to send sane text, and what it sends ends up in keys, logs, pages and JSON. The
 * rules admit everything the gateway ({@link EventIds}, its validated config, the card code it
 * read) and the sink's POS route write, and the golden vectors.
 */
final class StampEventFields {
    /** RFC 9562 text form, lowercase, as {@link java.util.UUID#toString()} writes it; any version. */
    static final Pattern EVENT_ID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    /** Printable ASCII, at most 64 characters: a Linux boot id is a 36-character UUID. */
    static final Pattern BOOT_ID = Pattern.compile("[\\x21-\\x7E]{1,64}");
    /** Printable ASCII up to the card code's own limit; whether it is a valid card is decided later (REJECTED, answered). */
    static final Pattern CARD_TEXT = Pattern.compile("[\\x21-\\x7E]{1," + StampEvent.MAX_CARD_CODE + "}");

    private StampEventFields() {
    }

    /** @throws IllegalArgumentException naming the field, its (shortened) value and the rule */
    static void check(StampEvent e) {
        match("eventId", e.eventId(), EVENT_ID, "a lowercase UUID (8-4-4-4-12 hex digits)");
        match("deviceId", e.deviceId(), Topics.DEVICE_ID, "1 to 64 letters, digits, '_', '.' or '-'");
        match("location", e.location(), Topics.DEVICE_ID, "1 to 64 letters, digits, '_', '.' or '-'");
        match("bootId", e.bootId(), BOOT_ID, "1 to 64 printable ASCII characters");
        match("cardCode", e.cardCode(), CARD_TEXT, "1 to " + StampEvent.MAX_CARD_CODE + " printable ASCII characters");
        match("programId", e.programId(), CARD_TEXT, "1 to " + StampEvent.MAX_CARD_CODE + " printable ASCII characters");
        match("cardId", e.cardId(), CARD_TEXT, "1 to " + StampEvent.MAX_CARD_CODE + " printable ASCII characters");
        if (e.seq() > WireCodec.MAX_SEQ) {
            throw new IllegalArgumentException("seq " + e.seq() + " is beyond " + WireCodec.MAX_SEQ + " (2^53 - 1)");
        }
    }

    private static void match(String field, String value, Pattern rule, String what) {
        if (!rule.matcher(value).matches()) {
            String shown = value.length() <= 80 ? value : value.substring(0, 80) + "... (" + value.length() + " characters)";
            throw new IllegalArgumentException(field + " '" + shown + "' must be " + what);
        }
    }
}
