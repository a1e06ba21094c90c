package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.sink.voucher.Voucher;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** A voucher as the HTTP API shows it: all of it to operators, what concerns the customer on the card. */
final class VoucherJson {
    private VoucherJson() {
    }

    /**
     * For the card page and card JSON, which anyone who read the card's barcode can open: no operator's reason,
     * no who-did-what, and no till code (a till takes a keyed till code without a check, so showing it would
     * let anyone with the card id redeem at a till).
     */
    static Map<String, Object> customer(Voucher v, Instant now) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("code", v.code().text());
        m.put("title", v.title());
        m.put("state", v.state(now).name());
        m.put("validFrom", v.validFrom().toString());
        m.put("validUntil", text(v.validUntil()));
        m.put("redeemedAt", text(v.redeemedAt()));
        return m;
    }

    static Map<String, Object> operator(Voucher v, Instant now) {
        Map<String, Object> m = customer(v, now);
        m.put("posCode", v.posCode());
        m.put("origin", v.origin().name());
        m.put("cardId", v.cardId());
        m.put("programId", v.programId());
        m.put("location", v.location());
        m.put("issuedAt", v.issuedAt().toString());
        m.put("issuedBy", v.issuedBy());
        m.put("reason", v.reason());
        m.put("eventId", v.eventId());
        m.put("redeemedBy", v.redeemedBy());
        m.put("redeemRequest", v.redeemRequest());
        return m;
    }

    private static String text(Instant t) {
        return t == null ? null : t.toString();
    }
}
