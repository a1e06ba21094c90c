package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.config.ConsoleSettings;
import app.sevenstamp.autopilot.sink.web.Access;
import app.sevenstamp.autopilot.sink.web.Caller;
import app.sevenstamp.autopilot.sink.web.Exchange;
import app.sevenstamp.autopilot.sink.web.Html;
import app.sevenstamp.autopilot.sink.web.Problem;
import app.sevenstamp.autopilot.sink.web.Router;
import app.sevenstamp.autopilot.sink.web.SessionLookup;
import com.fasterxml.jackson.databind.JsonNode;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.eclipse.jetty.util.Fields;
import org.tinylog.Logger;

/**
 * Signing in to the owner's console, and its accounts.
 * <ul>
 * <li>{@code GET /console/login}, {@code POST /console/login} (form {@code name}, {@code password}, {@code next}):
 *     a session cookie (HttpOnly, SameSite=Strict, Secure unless {@code console.secureCookie=false}) and a redirect;
 *     five failures per name (twenty per address) in fifteen minutes are answered 429 until the oldest leaves the window;</li>
 * <li>{@code POST /console/logout}; {@code GET /console}: who is signed in and what they may open;</li>
 * <li>{@code POST /api/v1/operators} {@code {"name","role","locations":[...],"password"}} and {@code GET /api/v1/operators}
 *     (the operator's bearer token or an owner's session): the accounts; the first owner is made with
 *     {@code autopilot-sink operators add NAME --role owner}, which calls this route with the token;</li>
 * <li>{@code GET /api/v1/audit}: the newest 100 lines of the audit log.</li>
 * </ul>
 */
public final class ConsoleApi {
    static final int MIN_PASSWORD = 12;
    private static final int MAX_PASSWORD = 200;
    private static final int MAX_FORM = 4096;

    private final Operators operators;
    private final Sessions sessions;
    private final Audit audit;
    private final LoginThrottle throttle;
    private final ConsoleSettings settings;
    private final SecureRandom random;
    private final Clock clock;

    public ConsoleApi(Operators operators, Sessions sessions, Audit audit, ConsoleSettings settings, Clock clock,
            SecureRandom random) {
        this.operators = operators;
        this.sessions = sessions;
        this.audit = audit;
        this.throttle = new LoginThrottle(clock, Duration.ofMinutes(15), 5, 20);
        this.settings = settings;
        this.random = random;
        this.clock = clock;
    }

    public void register(Router router) {
        router.get("/console/login", Access.PUBLIC, ex -> ex.html(200, loginPage(ex.query("next"), null)))
                .post("/console/login", Access.PUBLIC, this::login)
                .post("/console/logout", Access.STAFF, this::logout)
                .get("/console", Access.STAFF, this::home)
                .post("/api/v1/operators", Access.ADMIN, this::addOperator)
                .get("/api/v1/operators", Access.ADMIN, ex -> ex.json(200, operators.list().stream().map(ConsoleApi::json).toList()))
                .get("/api/v1/audit", Access.ADMIN, ex -> ex.json(200, Map.of("lines", audit.latest(100))));
    }

    private void login(Exchange ex) {
        String origin = ex.header("Origin");
        if (origin != null && !origin.equals("null") && !sameHost(origin, ex.header("Host"))) {
            throw new Problem(403, "a sign-in from another site (Origin " + origin + ") is refused");
        }
        Fields form = ex.form(MAX_FORM);
        String name = value(form, "name").trim().toLowerCase(java.util.Locale.ROOT);
        String password = value(form, "password");
        String next = safeNext(form.getValue("next"));
        String address = ex.clientAddress();
        Duration wait = throttle.wait(name, address);
        if (!wait.isZero()) {
            long seconds = Math.max(1, wait.toSeconds());
            ex.header("Retry-After", Long.toString(seconds));
            ex.html(429, loginPage(next, "Too many failed sign-ins. Try again in " + (seconds + 59) / 60 + " minutes."));
            return;
        }
        Optional<Operators.Account> account = Operators.NAME.matcher(name).matches() ? operators.find(name) : Optional.empty();
        // verified even for an unknown name, so that the answer's time does not tell which names exist
        boolean ok = PasswordHash.verify(password, account.map(Operators.Account::passwordHash).orElse(null))
                && account.get().active();
        if (!ok) {
            throttle.failed(name, address);
            Logger.warn("console: sign-in refused for '{}' from {}", name.length() > 64 ? name.substring(0, 64) : name, address);
            ex.html(401, loginPage(next, "The name or the password is not right."));
            return;
        }
        throttle.succeeded(name);
        Sessions.Started s = sessions.start(name);
        audit.record(name, "sign-in", null, "from " + address);
        ex.addHeader("Set-Cookie", sessions.setCookie(s.cookie(), settings.secureCookie()));
        ex.redirect(next);
    }

    private void logout(Exchange ex) {
        sessions.end(ex.cookie(SessionLookup.COOKIE));
        audit.record(ex.caller().actor(), "sign-out", null, null);
        ex.addHeader("Set-Cookie", Sessions.clearCookie(settings.secureCookie()));
        ex.redirect("/console/login");
    }

    private void home(Exchange ex) {
        Caller c = ex.caller();
        String role = c.access().name().toLowerCase(java.util.Locale.ROOT);
        String where = c.locations().isEmpty() ? "" : " for " + String.join(", ", c.locations());
        ex.html(200, Layout.page(c, "7stamp console", "<p>Signed in as <strong>" + Html.esc(c.operator()) + "</strong> ("
                + role + Html.esc(where) + ").</p>\n<p>Open the <a href=\"/console/counter\">counter page</a> to stamp a card "
                + "or redeem a voucher with this phone's camera.</p>\n"));
    }

    private void addOperator(Exchange ex) {
        JsonNode body = ex.jsonObject(MAX_FORM);
        String name = text(body, "name");
        String password = text(body, "password");
        if (password.length() < MIN_PASSWORD || password.length() > MAX_PASSWORD) {
            throw Problem.badRequest("password: " + MIN_PASSWORD + " to " + MAX_PASSWORD + " characters (a sentence is easier "
                    + "to remember than a short word with symbols)");
        }
        Role role;
        Set<String> locations = new TreeSet<>();
        try {
            role = Role.parse(text(body, "role"));
        } catch (IllegalArgumentException e) {
            throw Problem.badRequest(e.getMessage());
        }
        JsonNode where = body.path("locations");
        if (!where.isMissingNode() && !where.isNull()) {
            if (!where.isArray() || where.size() > 50) {
                throw Problem.badRequest("locations: a list of at most 50 location ids");
            }
            where.forEach(l -> locations.add(l.asText()));
        }
        Operators.Account a;
        try {
            a = operators.add(name, role, locations, PasswordHash.hash(password, random), clock.instant());
        } catch (IllegalArgumentException e) {
            throw e.getMessage().contains("exists") ? Problem.conflict(e.getMessage()) : Problem.badRequest(e.getMessage());
        }
        audit.record(ex.caller().actor(), "operator-added", name, role.label() + (locations.isEmpty() ? "" : " " + locations));
        Logger.info("console: account {} ({}) added by {}", name, role.label(), ex.caller().actor());
        ex.json(201, json(a));
    }

    private String loginPage(String next, String error) {
        String hint = operators.any() ? "" : "<p class=\"hint\">No account exists yet. On the sink's machine run "
                + "<code>autopilot-sink operators add NAME --role owner --config FILE</code> to create the first owner.</p>\n";
        return Html.page("Sign in - 7stamp console", "<h1>Sign in</h1>\n" + hint
                + (error == null ? "" : "<p class=\"error\" role=\"alert\">" + Html.esc(error) + "</p>\n")
                + "<form method=\"post\" action=\"/console/login\">\n"
                + "<input type=\"hidden\" name=\"next\" value=\"" + Html.esc(safeNext(next)) + "\">\n"
                + "<p><label for=\"name\">Name</label><br><input id=\"name\" name=\"name\" autocomplete=\"username\" required "
                + "autocapitalize=\"none\" maxlength=\"64\"></p>\n"
                + "<p><label for=\"password\">Password</label><br><input id=\"password\" name=\"password\" type=\"password\" "
                + "autocomplete=\"current-password\" required maxlength=\"200\"></p>\n"
                + "<p><button type=\"submit\">Sign in</button></p>\n</form>\n");
    }

    /** Where to go after signing in: a console path of this server only (no open redirect). */
    static String safeNext(String next) {
        return next != null && next.matches("/console(/[A-Za-z0-9/_.-]{0,200})?") ? next : "/console";
    }

    private static boolean sameHost(String origin, String host) {
        try {
            return host != null && host.equalsIgnoreCase(java.net.URI.create(origin).getRawAuthority());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String value(Fields form, String name) {
        String v = form.getValue(name);
        if (v == null) {
            throw Problem.badRequest("the form field '" + name + "' is required");
        }
        return v;
    }

    private static String text(JsonNode body, String field) {
        JsonNode n = body.get(field);
        if (n == null || !n.isTextual() || n.asText().isBlank()) {
            throw Problem.badRequest("the field '" + field + "' (text) is required");
        }
        return n.asText();
    }

    private static Map<String, Object> json(Operators.Account a) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", a.name());
        m.put("role", a.role().label());
        m.put("locations", new ArrayList<>(a.locations()));
        m.put("createdAt", a.createdAt().toString());
        m.put("disabledAt", a.disabledAt() == null ? null : a.disabledAt().toString());
        return m;
    }
}
