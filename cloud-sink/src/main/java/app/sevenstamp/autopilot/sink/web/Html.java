package app.sevenstamp.autopilot.sink.web;

/** Server-rendered pages: escaping, and the frame every page shares (the style from this server, no inline code). */
public final class Html {
    private Html() {
    }

    /** Escapes text for HTML element content and quoted attribute values. */
    public static String esc(String s) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /** A whole page around {@code body} (already escaped HTML). */
    public static String page(String title, String body) {
        return "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<title>" + esc(title) + "</title>\n"
                + "<link rel=\"stylesheet\" href=\"/assets/site.css\">\n"
                + "</head>\n<body>\n<main>\n" + body + "</main>\n</body>\n</html>\n";
    }
}
