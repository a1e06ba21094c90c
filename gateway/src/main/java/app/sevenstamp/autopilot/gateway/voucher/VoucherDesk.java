package app.sevenstamp.autopilot.gateway.voucher;

import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.uplink.Link;
import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import java.io.IOException;
import java.time.Clock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.tinylog.Logger;

/**
 * Redeems a scanned voucher at the counter, online only (issue 7, part 4): whether a voucher is valid lives
 * in the sink alone, so the box never stores a redemption for later.
 *
 * <p>A scan that {@link VoucherCode#looksLikeVoucher looks like a voucher} comes here instead of going to the
 * stamp outbox. A damaged code (bad check character) gets {@code REJECTED reason=MALFORMED} at once, offline.
 * With the uplink down the counter gets {@code CANNOT_CHECK} and nothing is published. Otherwise a
 * {@link RedeemRequest} (REDEEM, QoS 1) goes out and the answer decides: REDEEMED gives {@code VOUCHER_OK}
 * ("hand over the reward"), every other outcome {@code REJECTED} with the outcome in the details. No answer
 * within {@code vouchers.answerTimeout} gives {@code CANNOT_CHECK}, and a CANCEL with the same request id is
 * published so that the sink reverses what it may have done: what the counter was told is what the sink keeps.
 *
 * <p>Durable cancels: each REDEEM is recorded in a {@link RedeemJournal} (fsynced) before it is published,
 * and the record goes only when the outcome is final: an answer in time, or the sink's CANCELLED for that
 * request. A request that timed out, one still waiting when the desk closes, and every record found at start
 * (a request from a previous run can never be honoured at the counter) is "to cancel": its CANCEL is sent
 * at once, again after every reconnect, and while connected with a backoff ({@link RedeemCancels}), until
 * the CANCELLED answer arrives.
 *
 * <p>Threading: {@link #scan} runs on the pipeline thread and never waits (a publish is only handed to the
 * uplink's queue, the journal's fsync runs on the desk thread), so a stamp scanned while a voucher waits is
 * processed at once. One thread ({@code voucher-desk}) owns the waiting, the journal and the cancels:
 * timeouts, answers and CANCEL retries all run on it. Paho's callback thread only decodes an answer and hands
 * it over, and only for a request this desk knows, so that queue is bounded by {@link #MAX_PENDING} plus
 * {@link #MAX_RECORDS}. The one race, an answer against its timeout, is settled by whoever removes the
 * request from {@code pending} first: the counter gets exactly one signal.
 */
public final class VoucherDesk implements AutoCloseable {
    /** Vouchers waiting for an answer at once; one counter rarely has two, more means the sink is stuck. */
    public static final int MAX_PENDING = 8;
    /**
     * Requests recorded (waiting or to cancel). Never evicted: a forgotten CANCEL can cost a customer a
     * voucher. Beyond it a voucher scan gets CANNOT_CHECK (the sink has not confirmed cancels for a long time).
     */
    static final int MAX_RECORDS = 1000;
    /** How often the desk looks for due cancels and for a reconnect. */
    static final Duration CANCEL_TICK = Duration.ofMillis(500);
    /** Subdirectory of the state directory that holds the journal. */
    public static final String JOURNAL_DIR = "voucher-requests";

    private final Link link;
    private final Feedback feedback;
    private final Clock clock;
    private final Ticker ticker;
    private final String deviceId;
    private final String location;
    private final String redeemTopic;
    private final String answersTopic;
    private final Duration answerTimeout;
    private final WireCodec codec = new WireCodec();
    private final ScheduledThreadPoolExecutor thread;
    /** Null when the journal cannot be opened: then no voucher is sent (CANNOT_CHECK reason=STORAGE). */
    private final RedeemJournal journal;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    /** Requests to cancel until the sink confirms. */
    private final RedeemCancels cancels;
    /** Vouchers between the scan and their single signal; bounded by {@link #MAX_PENDING}. */
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong ignored = new AtomicLong();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    private boolean fullLogged;

    private record Pending(RedeemRequest request, long scannedAtNanos, ScheduledFuture<?> timeout) {
    }

    /**
     * @param stateDir      the box's state directory (the outbox's); the journal lives in {@link #JOURNAL_DIR}
     * @param ticker        measures the wait for an answer and the CANCELs' backoff
     * @param answerTimeout how long the counter waits for the sink's answer before "cannot check now"
     */
    public VoucherDesk(Link link, Topics topics, String deviceId, String location, Feedback feedback,
            Clock clock, Ticker ticker, Duration answerTimeout, Path stateDir) {
        this.link = Objects.requireNonNull(link, "link");
        this.feedback = Objects.requireNonNull(feedback, "feedback");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.deviceId = Objects.requireNonNull(deviceId, "deviceId");
        this.location = Objects.requireNonNull(location, "location");
        this.answerTimeout = Objects.requireNonNull(answerTimeout, "answerTimeout");
        this.redeemTopic = topics.redeem(deviceId);
        this.answersTopic = topics.redeemAnswers(deviceId);
        this.cancels = new RedeemCancels(clock, this::publishCancel);
        this.journal = openJournal(stateDir.resolve(JOURNAL_DIR));
        if (journal != null && !journal.loaded().isEmpty()) {
            long now = ticker.nanoTime();
            for (RedeemRequest r : journal.loaded()) {
                cancels.add(r, now);
            }
            Logger.warn("{} voucher request(s) from before the restart were never confirmed to the counter; cancelling "
                    + "them at the sink (vouchers {}{})", cancels.size(),
                    journal.loaded().stream().limit(10).map(RedeemRequest::voucherCode).toList(),
                    cancels.size() > 10 ? " and more" : "");
        }
        this.thread = new ScheduledThreadPoolExecutor(1, NamedThreads.of("voucher-desk"));
        this.thread.setRemoveOnCancelPolicy(true); // an answered voucher's timeout must not linger in the queue
        this.thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.thread.setContinueExistingPeriodicTasksAfterShutdownPolicy(false);
        this.thread.scheduleWithFixedDelay(() -> guarded(this::tick), CANCEL_TICK.toMillis(), CANCEL_TICK.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    private static RedeemJournal openJournal(Path dir) {
        try {
            return RedeemJournal.open(dir);
        } catch (IOException | RuntimeException e) {
            Logger.error(e, "cannot open the voucher request journal {}: vouchers cannot be checked at this box "
                    + "(CANNOT_CHECK reason=STORAGE) until it can", dir);
            return null;
        }
    }

    /** Subscribes to the answers on every connect, like the acks; call before the uplink starts. */
    public void attach() {
        link.subscribe(answersTopic, this::onAnswer);
    }

    /** From the pipeline thread, for a scan that looks like a voucher; never waits. */
    public void scan(String scanned) {
        Optional<VoucherCode> parsed = VoucherCode.parse(scanned);
        if (parsed.isEmpty()) {
            Logger.warn("voucher refused offline: MALFORMED (not 7V- and 16 code characters with a correct check "
                    + "character; mistyped or damaged); scanned {} characters", scanned.length());
            feedback.signal(Signal.REJECTED, "reason=MALFORMED kind=voucher");
            return;
        }
        String code = parsed.get().text();
        if (!link.isConnected()) {
            Logger.warn("voucher {} not checked: the box is offline; nothing redeemed, the customer keeps it", code);
            feedback.signal(Signal.CANNOT_CHECK, "voucher=" + code + " reason=OFFLINE");
            return;
        }
        if (waiting.incrementAndGet() > MAX_PENDING) {
            waiting.decrementAndGet();
            Logger.warn("voucher {} not checked: {} vouchers already wait for the sink's answer; nothing redeemed",
                    code, MAX_PENDING);
            feedback.signal(Signal.CANNOT_CHECK, "voucher=" + code + " reason=BUSY");
            return;
        }
        RedeemRequest request = new RedeemRequest(WireCodec.SCHEMA, EventIds.next(clock.millis()), deviceId,
                RedeemRequest.Action.REDEEM, code, location, clock.instant());
        long scannedAt = ticker.nanoTime();
        try {
            thread.execute(() -> send(request, scannedAt));
        } catch (RejectedExecutionException e) {
            waiting.decrementAndGet();
            feedback.signal(Signal.CANNOT_CHECK, "voucher=" + code + " reason=STOPPING");
        }
    }

    /**
     * Desk thread: the request is recorded durably and waiting, with its timeout, before it is published, so
     * a power cut cannot lose its CANCEL and an answer always finds it. Publishing only hands it to the
     * uplink's queue.
     */
    private void send(RedeemRequest request, long scannedAt) {
        String id = request.requestId();
        String code = request.voucherCode();
        if (!recorded(request)) {
            waiting.decrementAndGet();
            feedback.signal(Signal.CANNOT_CHECK, "voucher=" + code + " reason=STORAGE");
            return;
        }
        ScheduledFuture<?> timeout = thread.schedule(() -> timedOut(id), answerTimeout.toNanos(), TimeUnit.NANOSECONDS);
        pending.put(id, new Pending(request, scannedAt, timeout));
        Logger.info("voucher {} sent for redemption (request {})", code, id);
        link.publish(redeemTopic, codec.encode(request), false).whenComplete((handed, error) -> {
            if (!Boolean.TRUE.equals(handed)) {
                onDesk(() -> notHanded(id));
            }
        });
    }

    /** Whether the REDEEM may go out: recorded durably, under the bound. Desk thread. */
    private boolean recorded(RedeemRequest request) {
        if (journal == null) {
            Logger.error("voucher {} not checked: the voucher request journal could not be opened (see the start "
                    + "of the log); nothing redeemed", request.voucherCode());
            return false;
        }
        if (journal.size() >= MAX_RECORDS) {
            if (!fullLogged) {
                fullLogged = true;
                Logger.error("voucher {} not checked: {} voucher requests wait for the sink to confirm their CANCEL; "
                        + "no voucher is sent until it does (is the sink's redeem service running?); nothing redeemed",
                        request.voucherCode(), MAX_RECORDS);
            }
            return false;
        }
        fullLogged = false;
        try {
            journal.record(request);
            return true;
        } catch (IOException | RuntimeException e) {
            Logger.error(e, "voucher {} not checked: its request could not be recorded before sending; nothing "
                    + "redeemed", request.voucherCode());
            return false;
        }
    }

    /**
     * The connection dropped between the check and the publish: most likely nothing went out, but the
     * record stays "to cancel" all the same, as a CANCEL for a request the sink never saw is harmless.
     */
    private void notHanded(String requestId) {
        Pending p = pending.remove(requestId);
        if (p == null) {
            return;
        }
        waiting.decrementAndGet();
        p.timeout().cancel(false);
        Logger.warn("voucher {} not checked: the connection dropped before the request went out; nothing redeemed",
                p.request().voucherCode());
        feedback.signal(Signal.CANNOT_CHECK, "voucher=" + p.request().voucherCode() + " reason=OFFLINE");
        toCancel(p.request());
    }

    private void timedOut(String requestId) {
        Pending p = pending.remove(requestId);
        if (p == null) {
            return; // answered first
        }
        waiting.decrementAndGet();
        String code = p.request().voucherCode();
        Logger.warn("voucher {} not checked: no answer from the sink within {} ms (request {}); cancelling it, "
                + "nothing redeemed", code, answerTimeout.toMillis(), requestId);
        feedback.signal(Signal.CANNOT_CHECK, "voucher=" + code + " reason=NO_ANSWER");
        toCancel(p.request());
    }

    /** Desk thread: the request is already in the journal; its CANCEL goes now if connected, else at the reconnect. */
    private void toCancel(RedeemRequest redeem) {
        long now = ticker.nanoTime();
        cancels.add(redeem, now);
        if (link.isConnected()) {
            cancels.sendNow(redeem.requestId(), now);
        }
    }

    /** Desk thread, every {@link #CANCEL_TICK}. */
    private void tick() {
        cancels.tick(link.isConnected(), ticker.nanoTime());
    }

    private void publishCancel(RedeemRequest cancel) {
        String id = cancel.requestId();
        link.publish(redeemTopic, codec.encode(cancel), false).whenComplete((handed, error) -> {
            if (Boolean.TRUE.equals(handed)) {
                Logger.info("CANCEL of request {} (voucher {}) published; kept until the sink confirms it", id,
                        cancel.voucherCode());
            } else {
                Logger.debug("CANCEL of request {} not published (offline); again after the reconnect", id);
            }
        });
    }

    /** Paho's callback thread: decode and hand over, nothing else. */
    private void onAnswer(byte[] payload) {
        RedeemAnswer answer;
        try {
            answer = codec.decode(payload, RedeemAnswer.class);
        } catch (MalformedMessageException e) {
            malformed(e.kind(), e.getMessage());
            return;
        }
        if (!deviceId.equals(answer.deviceId())) {
            malformed("device", "answer for device '" + answer.deviceId() + "' on the topic of " + deviceId);
            return;
        }
        Pending open = pending.get(answer.requestId());
        if (open != null && !open.request().voucherCode().equals(answer.voucherCode())) {
            // a sink bug: no reward on an answer about another voucher; the timeout will cancel the request
            malformed("voucher", "answer for voucher " + answer.voucherCode() + " to request " + answer.requestId()
                    + " for " + open.request().voucherCode());
            return;
        }
        if (open == null && !cancels.contains(answer.requestId())) {
            long n = ignored.incrementAndGet();
            if (n == 1 || n % 100 == 0) { // a confused sink must not flood the log
                Logger.info("ignoring a redeem answer ({}) for request {}, which this box is not waiting for ({} so far)",
                        answer.outcome(), answer.requestId(), n);
            }
            return;
        }
        onDesk(() -> answered(answer));
    }

    private void answered(RedeemAnswer answer) {
        Pending p = pending.remove(answer.requestId());
        if (p == null) {
            boolean owed = cancels.contains(answer.requestId());
            if (owed && answer.outcome() == RedeemOutcome.CANCELLED) {
                forget(answer.requestId());
                cancels.confirmed(answer.requestId());
                Logger.info("sink confirmed the CANCEL of request {} (voucher {}): nothing redeemed by it",
                        answer.requestId(), answer.voucherCode());
            } else {
                ignored.incrementAndGet();
                Logger.warn("late redeem answer {} for request {} (voucher {}) ignored: the counter was told "
                        + "CANNOT_CHECK and the CANCEL {}", answer.outcome(), answer.requestId(), answer.voucherCode(),
                        owed ? "is sent until the sink confirms it" : "is confirmed");
            }
            return;
        }
        waiting.decrementAndGet();
        p.timeout().cancel(false);
        String code = p.request().voucherCode();
        if (answer.outcome() == RedeemOutcome.REDEEMED) {
            // forgotten durably before the signal, so that a restart cannot cancel a handed-over reward
            forget(answer.requestId());
            long ms = (ticker.nanoTime() - p.scannedAtNanos()) / 1_000_000;
            Logger.info("voucher {} redeemed in {} ms: {} (POS code {})", code, ms, answer.title(), answer.posCode());
            feedback.signal(Signal.VOUCHER_OK, "voucher=" + code + (answer.title() == null ? "" : " title=\""
                    + answer.title() + "\"") + (answer.posCode() == null ? "" : " posCode=" + answer.posCode())
                    + " ms=" + ms);
        } else {
            long ms = (ticker.nanoTime() - p.scannedAtNanos()) / 1_000_000;
            RedeemOutcome outcome = answer.outcome();
            Logger.warn("voucher {} refused by the sink: {} (after {} ms){}", code, outcome, ms,
                    answer.validUntil() == null ? "" : "; valid until " + answer.validUntil());
            feedback.signal(Signal.REJECTED, "reason=" + outcome + " voucher=" + code);
            // after the signal: nothing was redeemed, so a CANCEL after a power cut in between would be harmless
            forget(answer.requestId());
        }
    }

    /** Desk thread: the request's outcome is final. */
    private void forget(String requestId) {
        if (journal == null) {
            return; // nothing was ever recorded or sent
        }
        try {
            journal.remove(requestId);
        } catch (IOException | RuntimeException e) {
            // the record stays: after a restart its CANCEL would go out (for REDEEMED: the sink gives the
            // voucher back although the reward was handed over, the lesser harm than a lost voucher)
            Logger.error(e, "cannot delete the record of voucher request {}; it will be cancelled after a restart",
                    requestId);
        }
    }

    private void guarded(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            Logger.error(e, "voucher desk error"); // one bad answer or tick must not end the desk
        }
    }

    private void onDesk(Runnable task) {
        try {
            thread.execute(() -> guarded(task));
        } catch (RejectedExecutionException e) {
            Logger.debug("voucher desk stopped; dropping a hand-over");
        }
    }

    private void malformed(String kind, String message) {
        long n = malformed.incrementAndGet();
        // once per kind: a misbehaving sink must not flood the log
        if (warned.add(kind)) {
            Logger.warn("ignoring a malformed redeem answer ({}); further ones of this kind are only counted. "
                    + "total so far: {}", message, n);
        }
    }

    /** Redeem answers that could not be decoded or did not fit their topic or request. */
    public long malformedAnswers() {
        return malformed.get();
    }

    /** Answers for requests no longer waiting (late, after CANNOT_CHECK) or never sent by this box. */
    public long ignoredAnswers() {
        return ignored.get();
    }

    /** Vouchers waiting for the sink's answer now. */
    public int pendingCount() {
        return waiting.get();
    }

    /** Requests recorded durably and still to be cancelled (the sink has not confirmed their CANCEL). */
    public int cancelsWaiting() {
        return cancels.size();
    }

    /** CANCELs handed to the uplink so far (sends and resends). */
    public long cancelsSent() {
        return cancels.sent();
    }

    /** Mean cost of one journal write or delete with its fsyncs, in microseconds (0 before the first). */
    public long journalMeanMicros() {
        return journal == null ? 0 : journal.meanSyncMicros();
    }

    /**
     * Stops waiting. A voucher still waiting gets no signal (the gateway is going down); it becomes "to
     * cancel" (it is in the journal already) and its CANCEL is handed to the uplink if connected; whatever the
     * sink has not confirmed is cancelled again after the next start.
     */
    public void close(Duration wait) {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            thread.shutdownNow();
        }
        // the desk thread has stopped (or is stopping): only this thread touches the maps from here on
        for (Pending p : pending.values()) {
            p.timeout().cancel(false);
            Logger.warn("stopping while voucher {} waits for its answer (request {}); it is recorded and cancelled at "
                    + "the sink now if connected, else after the next start", p.request().voucherCode(),
                    p.request().requestId());
            cancels.add(p.request(), ticker.nanoTime());
        }
        pending.clear();
        if (cancels.size() == 0) {
            return;
        }
        List<CompletableFuture<Boolean>> handed = new ArrayList<>();
        if (link.isConnected()) {
            for (RedeemRequest cancel : cancels.forStop()) {
                handed.add(link.publish(redeemTopic, codec.encode(cancel), false));
            }
        }
        try {
            // a short, bounded wait so that the uplink, closed next, has taken them; the journal keeps them anyway
            CompletableFuture.allOf(handed.toArray(CompletableFuture[]::new))
                    .get(Math.min(wait.toMillis(), 200), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            Logger.debug("not every CANCEL was taken by the uplink before stopping: {}", e.toString());
        }
        Logger.warn("stopping with {} voucher request(s) not yet confirmed cancelled by the sink (vouchers, first 10: {}); "
                + "recorded, cancelled again after the next start", cancels.size(),
                cancels.vouchers(10));
    }

    @Override
    public void close() {
        close(Duration.ofMillis(500));
    }
}
