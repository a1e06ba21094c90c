package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.ConfigKey;
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
 * <p>Its keys, their defaults and what they allow: {@link SinkKeys} (and docs/configuration.md).
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

    /** The form of a program; {@link Form#NOTHING} for one without join settings. */
    public Form form(String programId) {
        return forms.getOrDefault(programId, Form.NOTHING);
    }

    /** {@code <web.publicUrl>/join/<program>}, or null without a public URL. */
    public String joinUrl(String programId) {
        return publicUrl == null ? null : publicUrl + "/join/" + programId;
    }

    static JoinSettings from(Settings s, Map<String, Program> programs) {
        URI publicUrl = publicUrl(s.string(SinkKeys.WEB_PUBLIC_URL));
        Rate perAddress = rate(s, SinkKeys.JOIN_PER_ADDRESS);
        Rate perProgram = rate(s, SinkKeys.JOIN_PER_PROGRAM);
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

    private static Rate rate(Settings s, ConfigKey k) {
        String key = k.name();
        int min = Integer.parseInt(k.min());
        int max = Integer.parseInt(k.max());
        String text = s.string(k);
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
