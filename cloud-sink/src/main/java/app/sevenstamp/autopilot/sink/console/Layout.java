package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Caller;
import app.sevenstamp.autopilot.sink.web.Html;

/** The console's frame: a navigation by role, who is signed in, and the sign-out button. */
final class Layout {
    private Layout() {
    }

    static String page(Caller c, String title, String body) {
        StringBuilder nav = new StringBuilder("<nav><a href=\"/console/counter\">Counter</a>");
        if (c.access() == Access.OWNER || c.access() == Access.MANAGER) {
            nav.append(" | <a href=\"/console/live\">Live</a> | <a href=\"/console/fleet\">Fleet</a> | <a href=\"/console/cards\">Cards</a>"
                    + " | <a href=\"/console/vouchers\">Vouchers</a>"
                    + " | <a href=\"/console/programs\">Programs</a>"
                    + " | <a href=\"/console/problems\">Dead letters and gaps</a>");
        }
        if (c.access() == Access.OWNER) {
            nav.append(" | <a href=\"/console/updates\">Updates</a>");
        }
        nav.append(" | ").append(Html.esc(c.operator())).append(" <form class=\"inline\" method=\"post\" action=\"/console/logout\">")
                .append(csrf(c)).append("<button type=\"submit\">Sign out</button></form></nav>\n");
        // the console's own style beside the site's (the policy allows no inline style); a link in the body is valid HTML
        return Html.page(title + " - 7stamp console", "<link rel=\"stylesheet\" href=\"/assets/console.css\">\n" + nav
                + "<h1>" + Html.esc(title) + "</h1>\n" + body);
    }

    /** The hidden field every form of a session carries. */
    static String csrf(Caller c) {
        return "<input type=\"hidden\" name=\"csrf\" value=\"" + Html.esc(c.csrf()) + "\">";
    }
}
