package app.sevenstamp.autopilot.sink.join;

import app.sevenstamp.autopilot.sink.cards.QrPng;
import app.sevenstamp.autopilot.sink.config.JoinSettings.Form;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.web.Html;

/**
 * The HTML of the join page, the web card and their messages: plain pages that work without
 * JavaScript and on a phone's width. Every value is escaped; styles and the one script are files of
 * this server (the pages' Content-Security-Policy allows nothing inline).
 */
final class JoinPages {
    private JoinPages() {
    }

    /** What the customer typed, shown again when the form comes back with an error. */
    record Typed(String name, String email, boolean consent) {
        static final Typed NOTHING = new Typed("", "", false);
    }

    static String join(Program program, Form form, String formToken, String error, Typed typed) {
        StringBuilder b = new StringBuilder();
        b.append("<h1>").append(esc(program.name())).append("</h1>\n");
        b.append("<p class=\"lead\">Get a free loyalty card for your phone: collect a stamp with every visit, ")
                .append(program.stampsRequired()).append(program.stampsRequired() == 1 ? " stamp earns" : " stamps earn")
                .append(" a reward.</p>\n");
        if (error != null) {
            b.append("<p class=\"error\" role=\"alert\">").append(esc(error)).append("</p>\n");
        }
        b.append("<form method=\"post\" action=\"/join/").append(esc(program.id())).append("\">\n");
        b.append("<input type=\"hidden\" name=\"t\" value=\"").append(esc(formToken)).append("\">\n");
        if (form.askName()) {
            b.append("<label>Your name (optional) <input type=\"text\" name=\"name\" maxlength=\"80\" autocomplete=\"name\" value=\"")
                    .append(esc(typed.name())).append("\"></label>\n");
        }
        if (form.askEmail()) {
            b.append("<label>Your e-mail address (optional) <input type=\"email\" name=\"email\" maxlength=\"254\" "
                    + "autocomplete=\"email\" value=\"").append(esc(typed.email())).append("\"></label>\n");
        }
        if (form.asksAnything()) {
            b.append("<label class=\"consent\"><input type=\"checkbox\" name=\"consent\" value=\"yes\"")
                    .append(typed.consent() ? " checked" : "").append("> <span>").append(esc(form.consent()))
                    .append("</span></label>\n");
        }
        b.append("<button type=\"submit\">Get my card</button>\n</form>\n");
        b.append("<p class=\"fine\">No app and no account needed. ")
                .append(form.asksAnything() ? "Leave the fields empty and nothing about you is stored."
                        : "Nothing about you is stored: the card is just a code.")
                .append("</p>\n");
        return page(program.name(), b.toString(), "");
    }

    /**
     * The web card: the scannable code, the progress, the wallet buttons that are configured.
     *
     * @param stamps the card's stamps so far (0 before the first)
     */
    static String webCard(Program program, JoinedCard card, String linkToken, int stamps, int rewardsAvailable,
            WalletOffers wallets) {
        // 4 CSS pixels per module: a whole number of device pixels at every whole pixel ratio, so no module is
        // drawn wider than its neighbour (the PNG has 8 pixels per module: 1:1 on a ratio-2 screen)
        int qrSide = QrPng.side(card.cardCode()) * 4;
        String base = CardLinks.webCardPath(card.cardId(), linkToken);
        StringBuilder b = new StringBuilder();
        b.append("<h1>").append(esc(program.name())).append("</h1>\n");
        b.append("<p class=\"lead\">Your loyalty card. Show this code at the counter at every visit.</p>\n");
        b.append("<img class=\"qr\" src=\"").append(esc(base)).append("/qr.png\" width=\"").append(qrSide).append("\" height=\"").append(qrSide).append("\" alt=\"")
                .append("QR code of your card ").append(esc(card.cardId())).append("\">\n");
        StringBuilder circles = new StringBuilder();
        for (int i = 0; i < Math.max(program.stampsRequired(), stamps); i++) {
            circles.append(i < stamps ? "<span class=\"stamp on\">&#9679;</span>" : "<span class=\"stamp\">&#9675;</span>");
        }
        b.append("<div class=\"stamps\" aria-hidden=\"true\">").append(circles).append("</div>\n");
        b.append("<p class=\"progress\">").append(stamps).append(" of ").append(program.stampsRequired()).append(" stamps")
                .append(rewardsAvailable > 0 ? "; rewards available: " + rewardsAvailable : "").append("</p>\n");
        for (WalletOffers.Channel c : WalletOffers.Channel.values()) {
            if (wallets.offers(c)) {
                b.append("<a class=\"button wallet\" href=\"").append(esc(wallets.link(c, card.cardId(), program.id(), linkToken)))
                        .append("\">").append(c == WalletOffers.Channel.APPLE ? "Add to Apple Wallet" : "Add to Google Wallet")
                        .append("</a>\n");
            }
        }
        b.append("<p class=\"fine\">Keep this page: bookmark it or add it to your home screen. It is your card, and it "
                + "opens without a connection too. Its address is secret: whoever has it can show your card.</p>\n");
        b.append("<p class=\"fine\">Card ").append(esc(card.cardId())).append(" \u00b7 <a href=\"/cards/")
                .append(esc(card.cardId())).append("\">progress page</a></p>\n");
        String head = "<link rel=\"manifest\" href=\"" + esc(base) + "/manifest.webmanifest\">\n"
                + "<link rel=\"apple-touch-icon\" href=\"/assets/icon-192.png\">\n"
                + "<meta name=\"theme-color\" content=\"#b5651d\">\n"
                + "<script src=\"/assets/webcard.js\" defer></script>\n";
        return page(program.name(), b.toString(), head);
    }

    /** The web app manifest of one web card: installed, it opens that card. */
    static java.util.Map<String, Object> manifest(Program program, String cardId, String linkToken) {
        String base = CardLinks.webCardPath(cardId, linkToken);
        String shortName = program.name().length() <= 12 ? program.name() : program.name().substring(0, 12);
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("name", program.name() + " card");
        m.put("short_name", shortName);
        m.put("start_url", base);
        m.put("scope", base);
        m.put("display", "standalone");
        m.put("background_color", "#ffffff");
        m.put("theme_color", "#b5651d");
        m.put("icons", java.util.List.of(
                java.util.Map.of("src", "/assets/icon-192.png", "sizes", "192x192", "type", "image/png"),
                java.util.Map.of("src", "/assets/icon-512.png", "sizes", "512x512", "type", "image/png")));
        return m;
    }

    static String message(String title, String text, String linkPath, String linkText) {
        return page(title, "<h1>" + esc(title) + "</h1>\n<p>" + esc(text) + "</p>\n"
                + (linkPath == null ? "" : "<p><a class=\"button\" href=\"" + esc(linkPath) + "\">" + esc(linkText) + "</a></p>\n"), "");
    }

    private static String page(String title, String body, String head) {
        return "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<title>" + esc(title) + "</title>\n"
                + "<link rel=\"stylesheet\" href=\"/assets/site.css\">\n"
                + "<link rel=\"stylesheet\" href=\"/assets/join.css\">\n"
                + "<link rel=\"icon\" href=\"/assets/icon-192.png\">\n" + head
                + "</head>\n<body>\n<main>\n" + body + "</main>\n</body>\n</html>\n";
    }

    /** Escapes text for HTML element content and quoted attribute values. */
    static String esc(String s) {
        return Html.esc(s);
    }
}
