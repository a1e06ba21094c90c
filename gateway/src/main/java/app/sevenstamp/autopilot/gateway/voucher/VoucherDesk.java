package app.sevenstamp.autopilot.gateway.voucher;

import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.uplink.Uplink;
import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
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
 * <p>Threading: {@link #scan} runs on the pipeline thread and never waits (a publish is only handed to the
 * uplink's queue), so a stamp scanned while a voucher waits for its answer is processed at once. One thread
 * ({@code voucher-desk}) owns the waiting: timeouts, answers and CANCEL retries all run on it. Paho's callback
 * thread only decodes an answer and hands it over, and only for a request this desk knows, so that queue is
 * bounded by {@link #MAX_PENDING} plus {@link #MAX_CANCELS}. The one race, an answer against its timeout, is
 * settled by whoever removes the request from {@code pending} first: the counter gets exactly one signal.
 */
public final class VoucherDesk implements AutoCloseable {
    /** Vouchers waiting for an answer at once; one counter rarely has two, more means the sink is stuck. */
    public static final int MAX_PENDING = 8;
    /** Cancels remembered (to retry while offline, and to recognise late answers); beyond it the oldest goes. */
    static final int MAX_CANCELS = 64;
    /** A CANCEL the uplink could not take (offline) is offered again this often until it can. */
    static final Duration CANCEL_RETRY = Duration.ofSeconds(2);

    private final Uplink uplink;
    private final Feedback feedback;
    private final Clock clock;
    private final String deviceId;
    private final String location;
    private final String redeemTopic;
    private final String answersTopic;
    private final Duration answerTimeout;
    private final WireCodec codec = new WireCodec();
    private final ScheduledThreadPoolExecutor thread;
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();
    /** Requests given up on, with their CANCEL; insertion-ordered for eviction, written on the desk thread only. */
    private final Map<String, Cancel> cancels = java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>());
    /** Vouchers between the scan and their single signal; bounded by {@link #MAX_PENDING}. */
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong ignored = new AtomicLong();
    private final Set<String> warned = ConcurrentHashMap.newKeySet();

    private record Pending(RedeemRequest request, long scannedAtNanos, ScheduledFuture<?> timeout) {
    }

    private static final class Cancel {
        final RedeemRequest request;
        volatile boolean handed;
        /** The sink answered the CANCEL; kept to recognise a late answer to the REDEEM. */
        boolean confirmed;

        Cancel(RedeemRequest request) {
            this.request = request;
        }
    }

    /**
     * @param answerTimeout how long the counter waits for the sink's answer before "cannot check now"
     */
    public VoucherDesk(Uplink uplink, Topics topics, String deviceId, String location, Feedback feedback,
            Clock clock, Duration answerTimeout) {
        this.uplink = Objects.requireNonNull(uplink, "uplink");
        this.feedback = Objects.requireNonNull(feedback, "feedback");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.deviceId = Objects.requireNonNull(deviceId, "deviceId");
        this.location = Objects.requireNonNull(location, "location");
        this.answerTimeout = Objects.requireNonNull(answerTimeout, "answerTimeout");
        this.redeemTopic = topics.redeem(deviceId);
        this.answersTopic = topics.redeemAnswers(deviceId);
        this.thread = new ScheduledThreadPoolExecutor(1, NamedThreads.of("voucher-desk"));
        this.thread.setRemoveOnCancelPolicy(true); // an answered voucher's timeout must not linger in the queue
        this.thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /** Subscribes to the answers on every connect, like the acks; call before {@code uplink.start()}. */
    public void attach() {
        uplink.addSubscription(answersTopic, this::onAnswer);
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
        if (!uplink.isConnected()) {
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
        long scannedAt = System.nanoTime();
        try {
            thread.execute(() -> send(request, scannedAt));
        } catch (RejectedExecutionException e) {
            waiting.decrementAndGet();
            feedback.signal(Signal.CANNOT_CHECK, "voucher=" + code + " reason=STOPPING");
        }
    }

    /**
     * Desk thread: the request is waiting, with its timeout, before it is published, so an answer always
     * finds it. Publishing only hands the request to the uplink's queue.
     */
    private void send(RedeemRequest request, long scannedAt) {
        String id = request.requestId();
        ScheduledFuture<?> timeout = thread.schedule(() -> timedOut(id), answerTimeout.toNanos(), TimeUnit.NANOSECONDS);
        pending.put(id, new Pending(request, scannedAt, timeout));
        Logger.info("voucher {} sent for redemption (request {})", request.voucherCode(), id);
        uplink.publish(redeemTopic, codec.encode(request), false).whenComplete((handed, error) -> {
            if (!Boolean.TRUE.equals(handed)) {
                onDesk(() -> notHanded(id));
            }
        });
    }

    /** The connection dropped between the check and the publish: nothing went out. */
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
        RedeemRequest r = p.request();
        Cancel cancel = new Cancel(new RedeemRequest(WireCodec.SCHEMA, r.requestId(), r.deviceId(),
                RedeemRequest.Action.CANCEL, r.voucherCode(), r.location(), clock.instant()));
        synchronized (cancels) {
            cancels.put(requestId, cancel);
            while (cancels.size() > MAX_CANCELS) {
                var eldest = cancels.entrySet().iterator().next();
                if (!eldest.getValue().handed) {
                    Logger.error("gave up the CANCEL of request {} (voucher {}): {} cancels waiting for the broker; "
                            + "if the sink redeemed it, check the voucher there", eldest.getKey(),
                            eldest.getValue().request.voucherCode(), MAX_CANCELS);
                }
                cancels.remove(eldest.getKey());
            }
        }
        sendCancel(cancel);
    }

    private void sendCancel(Cancel cancel) {
        String id = cancel.request.requestId();
        if (!cancels.containsKey(id)) {
            return; // evicted meanwhile
        }
        uplink.publish(redeemTopic, codec.encode(cancel.request), false).whenComplete((handed, error) -> onDesk(() -> {
            if (Boolean.TRUE.equals(handed)) {
                cancel.handed = true;
                Logger.info("CANCEL of request {} (voucher {}) published", id, cancel.request.voucherCode());
            } else {
                Logger.debug("CANCEL of request {} not published (offline); again in {} ms", id, CANCEL_RETRY.toMillis());
                try {
                    thread.schedule(() -> sendCancel(cancel), CANCEL_RETRY.toMillis(), TimeUnit.MILLISECONDS);
                } catch (RejectedExecutionException e) {
                    Logger.warn("stopping with the CANCEL of request {} (voucher {}) unsent", id,
                            cancel.request.voucherCode());
                }
            }
        }));
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
        if (open == null && !cancels.containsKey(answer.requestId())) {
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
            Cancel c = cancels.get(answer.requestId());
            if (answer.outcome() == RedeemOutcome.CANCELLED) {
                if (c != null) {
                    c.confirmed = true;
                }
                Logger.info("sink confirmed the CANCEL of request {} (voucher {}): nothing redeemed by it",
                        answer.requestId(), answer.voucherCode());
            } else {
                ignored.incrementAndGet();
                Logger.warn("late redeem answer {} for request {} (voucher {}) ignored: the counter was told "
                        + "CANNOT_CHECK and the CANCEL {}", answer.outcome(), answer.requestId(), answer.voucherCode(),
                        c == null ? "was sent" : c.confirmed ? "is confirmed" : c.handed ? "is on its way"
                                : "is waiting to be sent");
            }
            return;
        }
        waiting.decrementAndGet();
        p.timeout().cancel(false);
        String code = p.request().voucherCode();
        long ms = (System.nanoTime() - p.scannedAtNanos()) / 1_000_000;
        if (answer.outcome() == RedeemOutcome.REDEEMED) {
            Logger.info("voucher {} redeemed in {} ms: {} (POS code {})", code, ms, answer.title(), answer.posCode());
            feedback.signal(Signal.VOUCHER_OK, "voucher=" + code + (answer.title() == null ? "" : " title=\""
                    + answer.title() + "\"") + (answer.posCode() == null ? "" : " posCode=" + answer.posCode())
                    + " ms=" + ms);
        } else {
            RedeemOutcome outcome = answer.outcome();
            Logger.warn("voucher {} refused by the sink: {} (after {} ms){}", code, outcome, ms,
                    answer.validUntil() == null ? "" : "; valid until " + answer.validUntil());
            feedback.signal(Signal.REJECTED, "reason=" + outcome + " voucher=" + code);
        }
    }

    private void onDesk(Runnable task) {
        try {
            thread.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    Logger.error(e, "voucher desk error"); // one bad answer must not end the desk
                }
            });
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

    /**
     * Stops waiting. A voucher still waiting gets no signal (the gateway is going down) and its CANCEL is not
     * sent: logged, so that staff can check it in the sink.
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
        for (Pending p : pending.values()) {
            Logger.warn("stopping while voucher {} waits for its answer (request {}); check it in the sink",
                    p.request().voucherCode(), p.request().requestId());
        }
        synchronized (cancels) {
            cancels.values().stream().filter(c -> !c.handed).forEach(c -> Logger.warn(
                    "stopping with the CANCEL of request {} (voucher {}) unsent; check the voucher in the sink",
                    c.request.requestId(), c.request.voucherCode()));
        }
    }

    @Override
    public void close() {
        close(Duration.ofMillis(500));
    }
}
