package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Joining: the public address customers reach the sink at (the counter poster's QR code leads to
 * {@code <web.publicUrl>/join/<program>}), how fast cards may be issued, and what a program's join
 * form asks.
 *
 * <table>
 * <caption>Keys</caption>
 * <tr><th>key</th><th>default</th><th>allowed</th></tr>
 * <tr><td>{@code web.publicUrl}</td><td>(none: no poster)</td><td>{@code https://HOST[:PORT][/PATH]} (or {@code http://}
 *     for a test); no query, fragment or user info; the address of this sink as customers' phones reach it</td></tr>
 * <tr><td>{@code join.perAddress}</td><td>{@code 5/1m}</td><td>{@code N/DURATION}, N 0..100000 (0: no limit per address;
 *     behind a reverse proxy every customer has the proxy's address), DURATION 1s..1d: cards one client address
 *     (an IPv6 /64) may be issued</td></tr>
 * <tr><td>{@code join.perProgram}</td><td>{@code 300/1h}</td><td>{@code N/DURATION}, N 1..1000000, DURATION 1s..1d: cards
 *     one program may be issued, whoever asks</td></tr>
 * <tr><td>{@code program.<id>.joinAsks}</td><td>{@code none}</td><td>{@code none}, {@code name}, {@code email} or
 *     {@code name,email}: optional fields of the join form; nothing else is ever asked or stored</td></tr>
 * <tr><td>{@code program.<id>.joinConsent}</td><td>a sentence naming the program</td><td>1..300 characters without control
 *     characters: the consent text shown beside the fields (only with joinAsks)</td></tr>
 * </table>
 */
public record JoinSettings(URI publicUrl, Rate perAddress, Rate perProgram, Map<String, Form> forms) {
    private static final Pattern RATE = Pattern.compile("(\\d{1,7})/(\\d{1,6})(s|m|h|d)");
    private static final Pattern CONSENT = Pattern.compile("[^\\p{Cntrl}]{1,300}");

    /** At most {@code count} cards per {@code per}; a count of 0 is no limit. */
    public record Rate(int count, Duration per) {
        public Rate {
            Objects.requireNonNull(per, "per");
        }

        public boolean off() {
            return count == 0;
        }

        @Override
        public String toString() {
            return count + "/" + per.toSeconds() + "s";
        }
    }

    /** What a program's join form asks besides nothing. */
    public record Form(boolean askName, boolean askEmail, String consent) {
        public static final Form NOTHING = new Form(false, false, "");

        public boolean asksAnything() {
            return askName || askEmail;
        }
    }

    public JoinSettings {
        Objects.requireNonNull(perAddress, "perAddress");
        Objects.requireNonNull(perProgram, "perProgram");
        forms = Collections.unmodifiableMap(new TreeMap<>(forms));
    }

    /** Defaults, without a public URL: for tests and tools. */
    public static JoinSettings defaults() {
        return new JoinSettings(null, new Rate(5, Duration.ofMinutes(1)), new Rate(300, Duration.ofHours(1)), Map.of());
    }

    /** The form of a program; {@link Form#NOTHING} for one without join settings. */
    public Form form(String programId) {
        return forms.getOrDefault(programId, Form.NOTHING);
    }

    /** {@code <web.publicUrl>/join/<program>}, or null without a public URL. */
    public String joinUrl(String programId) {
        return publicUrl == null ? null : publicUrl + "/join/" + programId;
    }

    static JoinSettings from(Settings s, Map<String, Program> programs) {
        URI publicUrl = publicUrl(s.string("web.publicUrl", null));
        Rate perAddress = rate(s, "join.perAddress", "5/1m", 0, 100_000);
        Rate perProgram = rate(s, "join.perProgram", "300/1h", 1, 1_000_000);
        Map<String, Form> forms = new TreeMap<>();
        for (Program p : programs.values()) {
            String key = "program." + p.id() + ".joinAsks";
            List<String> asks = s.list(key);
            String allowed = "none, name, email or name,email";
            boolean name = false;
            boolean email = false;
            for (String a : asks) {
                switch (a) {
                    case "none" -> {
                        if (asks.size() > 1) {
                            throw Settings.bad(key, String.join(",", asks), allowed);
                        }
                    }
                    case "name" -> name = true;
                    case "email" -> email = true;
                    default -> throw Settings.bad(key, String.join(",", asks), allowed);
                }
            }
            String what = name && email ? "name and e-mail address" : name ? "name" : "e-mail address";
            String consent = s.matching("program." + p.id() + ".joinConsent",
                    "I agree that " + p.name() + " keeps my " + what + " with this loyalty card, to recognise me and "
                            + "to tell me about my rewards. I can ask the shop to delete it at any time.",
                    CONSENT, "1 to 300 characters without control characters");
            if (name || email) {
                forms.put(p.id(), new Form(name, email, consent));
            }
        }
        return new JoinSettings(publicUrl, perAddress, perProgram, forms);
    }

    /** The public URL without a trailing slash; null when not set. */
    static URI publicUrl(String text) {
        if (text == null) {
            return null;
        }
        String allowed = "https://HOST[:PORT][/PATH] (http:// only for a test), without query, fragment or user info, "
                + "for example web.publicUrl=https://stamps.example.com";
        URI u;
        try {
            u = new URI(text.endsWith("/") ? text.substring(0, text.length() - 1) : text);
        } catch (URISyntaxException e) {
            throw Settings.bad("web.publicUrl", text, allowed);
        }
        if (u.getScheme() == null || !(u.getScheme().equals("https") || u.getScheme().equals("http"))
                || u.getHost() == null || u.getRawUserInfo() != null || u.getRawQuery() != null
                || u.getRawFragment() != null || text.chars().anyMatch(c -> c <= ' ' || c > '~')) {
            throw Settings.bad("web.publicUrl", text, allowed);
        }
        return u;
    }

    private static Rate rate(Settings s, String key, String defaultValue, int min, int max) {
        String text = s.string(key, defaultValue);
        String allowed = "N/DURATION like 5/1m or 300/1h, N from " + min + " to " + max + ", DURATION from 1s to 1d (s, m, h, d)";
        Matcher m = RATE.matcher(text);
        if (!m.matches()) {
            throw Settings.bad(key, text, allowed);
        }
        int count = Integer.parseInt(m.group(1));
        long n = Long.parseLong(m.group(2));
        Duration per = switch (m.group(3)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
        if (count < min || count > max || per.compareTo(Duration.ofSeconds(1)) < 0 || per.compareTo(Duration.ofDays(1)) > 0) {
            throw new ConfigException(key + ": '" + text + "' is not allowed; allowed: " + allowed);
        }
        return new Rate(count, per);
    }

    @Override
    public String toString() {
        return "JoinSettings[publicUrl=" + publicUrl + ", perAddress=" + perAddress + ", perProgram=" + perProgram
                + ", forms=" + forms.keySet() + "]";
    }
}
