package app.sevenstamp.autopilot.sink.console;

import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.web.Caller;
import app.sevenstamp.autopilot.sink.web.SessionLookup;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Console sessions ({@code console_sessions}). The cookie is 32 random bytes; the table keeps only
 * its SHA-256, so whoever reads the database cannot sign in with what they read. A session ends
 * when its owner signs out, after {@code idle} without a request, after {@code longest} in any case,
 * or when the account is disabled. Kept in the database so that several sink instances share them.
 */
public final class Sessions implements SessionLookup {
    private static final Pattern COOKIE_VALUE = Pattern.compile("[A-Za-z0-9_-]{43}");
    /** last_seen_at is written at most this often: a page with five requests is not five writes. */
    private static final Duration TOUCH_EVERY = Duration.ofMinutes(1);

    /** A new session: the cookie's value (given to the browser, never stored) and its CSRF token. */
    public record Started(String cookie, String csrf) {
    }

    private final SinkStore store;
    private final Clock clock;
    private final Duration idle;
    private final Duration longest;
    private final SecureRandom random;

    public Sessions(SinkStore store, Clock clock, Duration idle, Duration longest, SecureRandom random) {
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.idle = idle;
        this.longest = longest;
        this.random = random;
    }

    public Started start(String operator) {
        String cookie = token();
        String csrf = token();
        Instant now = clock.instant();
        store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement("INSERT INTO console_sessions "
                    + "(id_hash, operator, csrf, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)")) {
                ps.setString(1, hash(cookie));
                ps.setString(2, operator);
                ps.setString(3, csrf);
                ps.setObject(4, now.atOffset(ZoneOffset.UTC));
                ps.setObject(5, now.atOffset(ZoneOffset.UTC));
                ps.executeUpdate();
            }
            return null;
        });
        return new Started(cookie, csrf);
    }

    @Override
    public Optional<Caller> caller(String cookie) {
        if (cookie == null || !COOKIE_VALUE.matcher(cookie).matches()) {
            return Optional.empty();
        }
        String id = hash(cookie);
        Instant now = clock.instant();
        return store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT s.operator, s.csrf, s.created_at, "
                    + "s.last_seen_at, o.role, o.locations, o.disabled_at FROM console_sessions s "
                    + "JOIN console_operators o ON o.name = s.operator WHERE s.id_hash = ?")) {
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return Optional.<Caller>empty();
                    }
                    Instant created = rs.getObject(3, OffsetDateTime.class).toInstant();
                    Instant seen = rs.getObject(4, OffsetDateTime.class).toInstant();
                    boolean disabled = rs.getObject(7, OffsetDateTime.class) != null;
                    if (disabled || now.isAfter(seen.plus(idle)) || now.isAfter(created.plus(longest))) {
                        delete(tx.connection(), id);
                        return Optional.<Caller>empty();
                    }
                    if (now.isAfter(seen.plus(TOUCH_EVERY))) {
                        try (PreparedStatement touch = tx.connection().prepareStatement(
                                "UPDATE console_sessions SET last_seen_at = ? WHERE id_hash = ?")) {
                            touch.setObject(1, now.atOffset(ZoneOffset.UTC));
                            touch.setString(2, id);
                            touch.executeUpdate();
                        }
                    }
                    String where = rs.getString(6);
                    Set<String> locations = where.isEmpty() ? Set.of() : new TreeSet<>(Arrays.asList(where.split(",")));
                    return Optional.of(Caller.session(Role.parse(rs.getString(5)).access(), rs.getString(1), locations,
                            rs.getString(2)));
                }
            }
        });
    }

    /** Signs out: the cookie opens nothing any more, on any instance. */
    public void end(String cookie) {
        if (cookie != null && COOKIE_VALUE.matcher(cookie).matches()) {
            store.transaction(tx -> {
                delete(tx.connection(), hash(cookie));
                return null;
            });
        }
    }

    /** The Set-Cookie value that gives a browser its session. */
    public String setCookie(String cookie, boolean secure) {
        return COOKIE + "=" + cookie + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + longest.toSeconds()
                + (secure ? "; Secure" : "");
    }

    /** The Set-Cookie value that makes a browser forget it. */
    public static String clearCookie(boolean secure) {
        return COOKIE + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + (secure ? "; Secure" : "");
    }

    private static void delete(java.sql.Connection c, String id) throws java.sql.SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM console_sessions WHERE id_hash = ?")) {
            ps.setString(1, id);
            ps.executeUpdate();
        }
    }

    private String token() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static String hash(String cookie) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cookie.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
