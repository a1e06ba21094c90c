package app.sevenstamp.autopilot.sink.join;

import app.sevenstamp.autopilot.sink.config.JoinSettings.Rate;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * How many cards the join page may issue: a token bucket per client address and one per program
 * (join.perAddress, join.perProgram). A bucket holds up to N tokens and refills N per period, so a
 * burst of N is allowed and then one every period/N. An IPv6 client counts by its /64, which one
 * household or phone gets whole. A card is issued only when both buckets have a token; a refusal
 * takes none, and tells how long until the next token.
 *
 * <p>Threading: every method holds this object's lock; nothing inside does I/O. The address table
 * only gains an entry when a card is actually issued, so its size is bounded by the per-program
 * rates; full buckets (idle addresses) are dropped whenever it passes {@value #SWEEP_AT} entries.
 */
final class IssueLimiter {
    static final int SWEEP_AT = 4096;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    /** The answer: issue, or wait this many seconds (at least 1) for the named limit. */
    record Verdict(boolean allowed, long retryAfterSeconds, String limit) {
        static final Verdict OK = new Verdict(true, 0, null);
    }

    private static final class Bucket {
        double tokens;
        long at;

        Bucket(double tokens, long at) {
            this.tokens = tokens;
            this.at = at;
        }
    }

    private final Rate perAddress;
    private final Rate perProgram;
    private final LongSupplier nanoTime;
    private final Map<String, Bucket> addresses = new HashMap<>();
    private final Map<String, Bucket> programs = new HashMap<>();

    IssueLimiter(Rate perAddress, Rate perProgram, LongSupplier nanoTime) {
        this.perAddress = perAddress;
        this.perProgram = perProgram;
        this.nanoTime = nanoTime;
    }

    synchronized Verdict tryIssue(String programId, String clientAddress) {
        long now = nanoTime.getAsLong();
        String client = clientKey(clientAddress);
        Bucket address = perAddress.off() ? null : refilled(addresses.get(client), perAddress, now);
        if (address != null && address.tokens < 1) {
            return new Verdict(false, secondsToToken(address, perAddress), "join.perAddress=" + describe(perAddress));
        }
        Bucket program = refilled(programs.get(programId), perProgram, now);
        programs.put(programId, program);
        if (program.tokens < 1) {
            return new Verdict(false, secondsToToken(program, perProgram), "join.perProgram=" + describe(perProgram));
        }
        program.tokens -= 1;
        if (address != null) {
            address.tokens -= 1;
            if (addresses.put(client, address) == null && addresses.size() > SWEEP_AT) {
                sweep(now);
            }
        }
        return Verdict.OK;
    }

    synchronized int trackedAddresses() {
        return addresses.size();
    }

    private void sweep(long now) {
        for (Iterator<Bucket> it = addresses.values().iterator(); it.hasNext();) {
            if (refilled(it.next(), perAddress, now).tokens >= perAddress.count()) {
                it.remove();
            }
        }
    }

    /** The bucket brought up to {@code now}; a new one is full. */
    private static Bucket refilled(Bucket b, Rate rate, long now) {
        if (b == null) {
            return new Bucket(rate.count(), now);
        }
        double perNano = rate.count() / (double) rate.per().toNanos();
        b.tokens = Math.min(rate.count(), b.tokens + Math.max(0, now - b.at) * perNano);
        b.at = now;
        return b;
    }

    private static long secondsToToken(Bucket b, Rate rate) {
        double secondsPerToken = rate.per().toNanos() / (double) rate.count() / NANOS_PER_SECOND;
        return Math.max(1, (long) Math.ceil((1 - b.tokens) * secondsPerToken));
    }

    private static String describe(Rate r) {
        long s = r.per().toSeconds();
        String per = s % 86_400 == 0 ? s / 86_400 + "d" : s % 3600 == 0 ? s / 3600 + "h" : s % 60 == 0 ? s / 60 + "m" : s + "s";
        return r.count() + "/" + per;
    }

    /** The address as counted: an IPv4 address whole, an IPv6 address by its /64. */
    static String clientKey(String address) {
        if (address == null || address.indexOf(':') < 0) {
            return String.valueOf(address);
        }
        try {
            // a literal: getByName parses it without a lookup
            InetAddress a = InetAddress.getByName(address.startsWith("[") ? address.substring(1, address.length() - 1) : address);
            if (a instanceof Inet6Address) {
                byte[] b = a.getAddress();
                StringBuilder s = new StringBuilder();
                for (int i = 0; i < 8; i += 2) {
                    s.append(Integer.toHexString(((b[i] & 0xFF) << 8) | (b[i + 1] & 0xFF))).append(':');
                }
                return s.append(":/64").toString();
            }
            return a.getHostAddress();
        } catch (UnknownHostException | StringIndexOutOfBoundsException e) {
            return address;
        }
    }
}
