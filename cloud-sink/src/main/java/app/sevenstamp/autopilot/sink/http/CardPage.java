package app.sevenstamp.autopilot.sink.http;

import app.sevenstamp.autopilot.sink.web.Html;

/**
 * The small HTML page a customer may open from the wallet card: the same facts as the JSON, and a
 * row of stamp circles. Every value is escaped; nothing is loaded from elsewhere
 * (the style comes from this server, as the page's Content-Security-Policy requires).
 */
final class CardPage {
    /** Served as {@code /assets/site.css}: the pages' policy allows no inline style. */
    static final String STYLE = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
            + ".stamps{font-size:2rem;letter-spacing:.3rem}.stamp.on{color:#b5651d}.id{color:#777}"
            + ".error{color:#a00000;font-weight:bold}.hint{background:#f4f4f4;padding:.5rem}"
            + "input,button,select{font-size:1.1rem;padding:.4rem}nav{margin-bottom:1rem}form.inline{display:inline}"
            + "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}"
            + "tr.quiet{background:#fff1c2}.result{font-size:2rem;padding:1rem;border-radius:.5rem;background:#eee}"
            + ".result.ok{background:#0b6b2b;color:#fff}.result.refused{background:#8a1010;color:#fff}"
            + ".result.wait{background:#444;color:#fff}\n";

    private CardPage() {
    }

    static String render(CardView card) {
        StringBuilder circles = new StringBuilder();
        int total = Math.max(card.stampsRequired(), card.stamps());
        for (int i = 0; i < total; i++) {
            circles.append(i < card.stamps() ? "<span class=\"stamp on\">&#9679;</span>" : "<span class=\"stamp\">&#9675;</span>");
        }
        String progress = card.stamps() + " of " + card.stampsRequired() + " stamps";
        return page(card.programName(), "<h1>" + esc(card.programName()) + "</h1>\n"
                + "<p class=\"id\">Card " + esc(card.cardId()) + "</p>\n"
                + "<div class=\"stamps\" role=\"img\" aria-label=\"" + esc(progress) + "\">" + circles + "</div>\n"
                + "<p class=\"progress\">" + esc(progress) + "</p>\n"
                + "<p class=\"rewards\">Rewards available: " + card.rewardsAvailable() + "</p>\n"
                + "<p class=\"last\">Last stamp: " + esc(card.lastStampAt() == null ? "none yet" : card.lastStampAt()) + "</p>\n"
                + vouchers(card));
    }

    /** The card's vouchers: title, state, code as text and as a QR image (rendered by the sink from the code alone). */
    private static String vouchers(CardView card) {
        if (card.vouchers().isEmpty()) {
            return "";
        }
        StringBuilder b = new StringBuilder("<h2>Vouchers</h2>\n<ul class=\"vouchers\">\n");
        for (java.util.Map<String, Object> v : card.vouchers()) {
            String code = String.valueOf(v.get("code"));
            b.append("<li><strong>").append(esc(String.valueOf(v.get("title")))).append("</strong> ")
                    .append(esc(String.valueOf(v.get("state")).toLowerCase(java.util.Locale.ROOT)))
                    .append(v.get("validUntil") == null ? "" : ", valid until " + esc(String.valueOf(v.get("validUntil"))))
                    .append("<br><code>").append(esc(code)).append("</code>");
            if ("ACTIVE".equals(v.get("state"))) {
                b.append("<br><img alt=\"QR code of ").append(esc(code)).append("\" width=\"160\" src=\"/api/v1/vouchers/")
                        .append(esc(code)).append("/qr.png\">");
            }
            b.append("</li>\n");
        }
        return b.append("</ul>\n").toString();
    }

    static String message(String title, String text) {
        return page(title, "<h1>" + esc(title) + "</h1>\n<p>" + esc(text) + "</p>\n");
    }

    private static String page(String title, String body) {
        return Html.page(title, body);
    }

    static String esc(String s) {
        return Html.esc(s);
    }
}
