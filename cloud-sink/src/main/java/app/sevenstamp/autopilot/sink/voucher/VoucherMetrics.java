package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Voucher counters since start, and the pool's free codes as last seen. Thread-safe. Counted inside
 * the deciding transaction: a transaction that then fails to commit (rare) is counted anyway.
 */
public final class VoucherMetrics {
    private final LongAdder issued = new LongAdder();
    private final LongAdder issuedWithoutPosCode = new LongAdder();
    private final LongAdder reversed = new LongAdder();
    private final LongAdder answersNotSent = new LongAdder();
    private final LongAdder requestsDropped = new LongAdder();
    private final AtomicLong posCodesFree = new AtomicLong(-1);
    private final LongAdder posCodesAdded = new LongAdder();
    private final LongAdder posCodesFileErrors = new LongAdder();
    private final LongAdder posCodesLowWarnings = new LongAdder();
    private final Map<RedeemOutcome, LongAdder> outcomes = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> malformed = new ConcurrentHashMap<>();

    public long issued() {
        return issued.sum();
    }

    /** Vouchers issued while the POS code pool was empty (or not configured while a pool file is set). */
    public long issuedWithoutPosCode() {
        return issuedWithoutPosCode.sum();
    }

    public long outcome(RedeemOutcome o) {
        LongAdder n = outcomes.get(o);
        return n == null ? 0 : n.sum();
    }

    public long reversed() {
        return reversed.sum();
    }

    /** Redeem payloads that could not be used, by kind ({@code json}, {@code schema}, {@code size}, {@code field}, {@code topic}). */
    public long malformed(String kind) {
        LongAdder n = malformed.get(kind);
        return n == null ? 0 : n.sum();
    }

    public long malformed() {
        return malformed.values().stream().mapToLong(LongAdder::sum).sum();
    }

    /** Unused POS codes in the pool as last counted; -1 when no pool is configured. */
    public long posCodesFree() {
        return posCodesFree.get();
    }

    /** Till codes added to the pool since start: at start and by re-reading the changed file. */
    public long posCodesAdded() {
        return posCodesAdded.sum();
    }

    /** Times the changed pool file could not be used (unreadable, bad lines), each bad version counted once. */
    public long posCodesFileErrors() {
        return posCodesFileErrors.sum();
    }

    /** Times the pool ran low (at or below {@code vouchers.poolLowWarning}) and the sink warned: once per refill. */
    public long posCodesLowWarnings() {
        return posCodesLowWarnings.sum();
    }

    void countPosCodesLowWarning() {
        posCodesLowWarnings.increment();
    }

    void countPosCodesAdded(int n) {
        posCodesAdded.add(n);
    }

    void countPosCodesFileError() {
        posCodesFileErrors.increment();
    }

    void countIssued(boolean withPosCode, boolean poolConfigured) {
        issued.increment();
        if (poolConfigured && !withPosCode) {
            issuedWithoutPosCode.increment();
        }
    }

    void countOutcome(RedeemOutcome o) {
        outcomes.computeIfAbsent(o, k -> new LongAdder()).increment();
    }

    void countReversed() {
        reversed.increment();
    }

    void countMalformed(String kind) {
        malformed.computeIfAbsent(kind, k -> new LongAdder()).increment();
    }

    void countAnswerNotSent() {
        answersNotSent.increment();
    }

    void countDropped() {
        requestsDropped.increment();
    }

    void posCodesFree(long n) {
        posCodesFree.set(n);
    }

    /** Every counter by name, prefixed {@code vouchers.}, for {@code GET /api/v1/metrics}. */
    public Map<String, Long> snapshot() {
        Map<String, Long> out = new TreeMap<>();
        out.put("vouchers.issued", issued());
        out.put("vouchers.issuedWithoutPosCode", issuedWithoutPosCode());
        out.put("vouchers.reversed", reversed());
        out.put("vouchers.answersNotSent", answersNotSent.sum());
        out.put("vouchers.requestsDropped", requestsDropped.sum());
        out.put("vouchers.posCodesFree", posCodesFree());
        out.put("vouchers.posCodesAdded", posCodesAdded());
        out.put("vouchers.posCodesFileErrors", posCodesFileErrors());
        out.put("vouchers.posCodesLowWarnings", posCodesLowWarnings());
        outcomes.forEach((o, n) -> out.put("vouchers.redeem." + o.name(), n.sum()));
        malformed.forEach((k, n) -> out.put("vouchers.malformed." + k, n.sum()));
        return out;
    }
}
