package app.sevenstamp.autopilot.sink.wallet.google;

import app.sevenstamp.autopilot.protocol.support.Backoff;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.DoubleSupplier;
import org.tinylog.Logger;

/**
 * The Wallet REST API's transport: every call waits for the {@link RateLimiter}, carries a bearer
 * token from {@link AccessTokens}, and is retried on 429, 5xx and I/O errors with jittered exponential
 * backoff (0.5 s doubling to 30 s, full jitter), never sooner than the answer's {@code Retry-After}.
 * A Retry-After longer than {@link #MAX_WAIT}, or {@link #MAX_ATTEMPTS} failures, ends the call with a
 * {@link GoogleWalletException}: the caller (the update queue) retries later, with nothing held meanwhile.
 * A 401 fetches a new token once.
 *
 * <p>Threads: any thread; calls are independent. Sleeping happens in the caller's thread.
 */
final class WalletApi {
    static final int MAX_ATTEMPTS = 5;
    static final Duration MAX_WAIT = Duration.ofSeconds(60);
    private static final Duration TIMEOUT = Duration.ofSeconds(15);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** How to wait between attempts; tests record the waits. */
    @FunctionalInterface
    interface Sleeper {
        Sleeper REAL = d -> Thread.sleep(d.toMillis());

        void sleep(Duration d) throws InterruptedException;
    }

    /** An answer the caller handles itself: 2xx, or one of the statuses it said it expects. */
    record Answer(int status, JsonNode body) {
        boolean ok() {
            return status / 100 == 2;
        }
    }

    private final URI base;
    private final AccessTokens tokens;
    private final HttpClient http;
    private final RateLimiter limiter;
    private final Sleeper sleeper;
    private final DoubleSupplier random;
    private final Clock clock;

    WalletApi(URI base, AccessTokens tokens, HttpClient http, RateLimiter limiter, Sleeper sleeper, DoubleSupplier random,
            Clock clock) {
        this.base = Objects.requireNonNull(base, "base");
        this.tokens = Objects.requireNonNull(tokens, "tokens");
        this.http = Objects.requireNonNull(http, "http");
        this.limiter = Objects.requireNonNull(limiter, "limiter");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
        this.random = Objects.requireNonNull(random, "random");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * One API call, retried as described above.
     *
     * @param path     below the API URL, e.g. {@code /walletobjects/v1/loyaltyObject/123.abc}
     * @param body     the JSON body (a map or record), or null
     * @param expected non-2xx statuses that are answers, not errors (404 for a GET, 409 for an insert)
     * @throws GoogleWalletException for any other status, or when the retries are used up
     */
    Answer call(String method, String path, Object body, Set<Integer> expected) {
        byte[] bytes = null;
        if (body != null) {
            try {
                bytes = JSON.writeValueAsBytes(body);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("cannot encode the " + method + " " + path + " body", e);
            }
        }
        Backoff backoff = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), random);
        boolean refreshed = false;
        String last = "";
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            Duration retryAfter = Duration.ZERO;
            try {
                limiter.acquire();
                HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(TIMEOUT)
                        .header("Authorization", "Bearer " + tokens.get())
                        .header("Accept", "application/json");
                if (bytes != null) {
                    b.header("Content-Type", "application/json; charset=utf-8");
                }
                b.method(method, bytes == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(bytes));
                HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
                int status = r.statusCode();
                if (status / 100 == 2 || expected.contains(status)) {
                    return new Answer(status, parse(r.body()));
                }
                last = "HTTP " + status + " " + AccessTokens.abbreviate(r.body());
                if (status == 401 && !refreshed) {
                    refreshed = true;
                    tokens.invalidate();
                    continue;
                }
                if (status != 429 && status / 100 != 5) {
                    throw new GoogleWalletException("Google Wallet API " + method + " " + path + " answered " + last);
                }
                retryAfter = retryAfter(r.headers().firstValue("Retry-After"), clock.instant());
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new GoogleWalletException("interrupted during " + method + " " + path, e);
            }
            if (attempt == MAX_ATTEMPTS) {
                break;
            }
            if (retryAfter.compareTo(MAX_WAIT) > 0) {
                throw new GoogleWalletException("Google Wallet API " + method + " " + path + " asks to wait "
                        + retryAfter.toSeconds() + " s (Retry-After) after " + last + "; giving up for now");
            }
            Duration wait = backoff.next();
            if (wait.compareTo(retryAfter) < 0) {
                wait = retryAfter;
            }
            Logger.debug("Google Wallet {} {}: {}; attempt {} of {} in {} ms", method, path, last, attempt + 1, MAX_ATTEMPTS,
                    wait.toMillis());
            try {
                sleeper.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new GoogleWalletException("interrupted during " + method + " " + path, e);
            }
        }
        throw new GoogleWalletException("Google Wallet API " + method + " " + path + " failed " + MAX_ATTEMPTS
                + " times; last: " + last);
    }

    /** Seconds, or an HTTP date; zero when absent or unreadable. */
    static Duration retryAfter(Optional<String> header, Instant now) {
        if (header.isEmpty()) {
            return Duration.ZERO;
        }
        String v = header.get().trim();
        try {
            return Duration.ofSeconds(Math.max(0, Long.parseLong(v)));
        } catch (NumberFormatException e) {
            try {
                Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                Duration d = Duration.between(now, at);
                return d.isNegative() ? Duration.ZERO : d;
            } catch (DateTimeParseException x) {
                return Duration.ZERO;
            }
        }
    }

    private static JsonNode parse(String text) {
        if (text == null || text.isBlank()) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }
}
