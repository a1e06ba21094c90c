package app.sevenstamp.autopilot.gateway;

import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.outbox.OutboxFullException;
import app.sevenstamp.autopilot.gateway.outbox.OutboxHealth;
import app.sevenstamp.autopilot.gateway.outbox.OutboxStatus;
import app.sevenstamp.autopilot.gateway.outbox.StampDraft;
import app.sevenstamp.autopilot.gateway.outbox.StoredEvent;
import app.sevenstamp.autopilot.gateway.policy.CounterGuard;
import app.sevenstamp.autopilot.gateway.policy.Decision;
import app.sevenstamp.autopilot.gateway.support.Excerpt;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.policy.ScanPolicy;
import app.sevenstamp.autopilot.gateway.scan.Frame;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.tinylog.Logger;

/**
 * scan -> decide -> durable append -> feedback -> wake the uplink, in scan order. Scans that waited
 * together in the queue (a burst) are decided together and their appends handed to the outbox at once,
 * so that they share one sync of its redo log (group commit); each one's feedback still waits for its own
 * append to be durable.
 *
 * <p>The promise behind the green light: feedback for a stamp is given only after the outbox reported
 * the event durable. A reject gives feedback and one log line and changes nothing else. A storage
 * failure gives STORAGE_FAULT, so the customer does not walk off believing the scan counted.
 *
 * <p>Threading: scanner threads call {@link #accept}, which only offers the frame to a bounded queue
 * (a full queue drops the frame, answered STORAGE_FAULT, counted and logged: a scanner spewing garbage must
 * not exhaust memory).
 * One thread ({@code stamp-pipeline}) does the rest; it waits for the outbox, never for the network.
 */
public final class StampPipeline implements AutoCloseable {
    /** Never produced by a framer (empty lines yield nothing), so it can mark the end of the queue. */
    private static final Frame STOP = new Frame.Text("");
    /**
     * At most this many waiting scans are taken together (decided, then their appends handed to the outbox
     * at once, so they share one sync). Bounds what the first of them waits for: the decisions of the rest
     * (a signature check each), well under a millisecond apiece. It is also how many stamps a kill after a
     * group's sync can leave stored, and counted, without their light (docs/durability.md).
     */
    public static final int MAX_BURST = 16;

    /** Read once per scan: the fleet may swap in a new policy (cards.programs, cards.trustedKeys) at any time. */
    private final Supplier<ScanPolicy> policy;
    /** The sink's counter rules (cooldown, daily cap) over this counter's own stamps. */
    private final CounterGuard guard;
    private final StampFactory factory;
    private final Outbox outbox;
    private final Feedback feedback;
    private final BooleanSupplier online;
    private final Runnable appended;
    private final Duration storeTimeout;
    /** Where a scan that looks like a voucher goes instead of the outbox; null: to the policy like any scan. */
    private final Consumer<String> vouchers;
    private final Ticker ticker;
    private final BlockingQueue<Frame> queue;
    private final int capacity;
    private final AtomicLong dropped = new AtomicLong();
    /** The last scan offered was dropped: the next drop continues a burst (logged every 100th only). */
    private volatile boolean overflowing;
    private final Thread thread;
    private volatile boolean closing;
    /** The ticker's time when the scan in work was taken from the queue; 0 while idle (for the health check). */
    private volatile long busySince;
    /** The outbox alarm state after the previous stamp; pipeline thread only. */
    private OutboxHealth lastHealth = OutboxHealth.OK;

    /**
     * @param policy   the policy in force, read once per scan
     * @param guard    the counter rules; its history is the pipeline thread's from {@link #start} on
     * @param vouchers takes each scan that {@link VoucherCode#looksLikeVoucher looks like a voucher} (redeemed
     *                 online, never stored as a stamp), on the pipeline thread; it must not wait. Null: such a
     *                 scan goes to the policy like any other
     * @param online   whether the uplink is connected right now (ACCEPTED versus ACCEPTED_OFFLINE)
     * @param appended called after each durable append, to wake the uplink
     * @param ticker   times each scan in work, for the stuck-scan health check and the log
     */
    public StampPipeline(Supplier<ScanPolicy> policy, CounterGuard guard, StampFactory factory, Outbox outbox,
            Feedback feedback, BooleanSupplier online, Runnable appended, int capacity, Duration storeTimeout,
            Consumer<String> vouchers, Ticker ticker) {
        this.vouchers = vouchers;
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.guard = Objects.requireNonNull(guard, "guard");
        this.factory = Objects.requireNonNull(factory, "factory");
        this.outbox = Objects.requireNonNull(outbox, "outbox");
        this.feedback = Objects.requireNonNull(feedback, "feedback");
        this.online = Objects.requireNonNull(online, "online");
        this.appended = Objects.requireNonNull(appended, "appended");
        this.storeTimeout = Objects.requireNonNull(storeTimeout, "storeTimeout");
        this.capacity = capacity;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.thread = NamedThreads.of("stamp-pipeline").newThread(this::run);
    }

    public void start() {
        thread.start();
    }

    /**
     * From a scanner thread; never blocks. A scan that is not taken is answered STORAGE_FAULT at once (the
     * customer must not walk off believing it counted), counted for the status, and logged.
     */
    public void accept(Frame frame) {
        if (!closing && queue.offer(frame)) {
            if (overflowing) {
                overflowing = false;
            }
            return;
        }
        long n = dropped.incrementAndGet();
        feedback.signal(Signal.STORAGE_FAULT, (closing ? "reason=STOPPING" : "reason=QUEUE_FULL waiting=" + capacity)
                + " dropped=" + n);
        boolean burstStarts = !overflowing;
        overflowing = true;
        if (burstStarts || n % 100 == 0) { // a scanner spewing garbage must not flood the log
            Logger.warn("scan dropped and answered STORAGE_FAULT: {} ({} dropped since start; in a burst every 100th is "
                    + "logged)", closing ? "the gateway is stopping" : "the pipeline queue is full (" + capacity
                    + " scans waiting, the outbox is slow or stuck)", n);
        }
    }

    /**
     * For the systemd watchdog: null while the pipeline thread runs and no scan has been in work for
     * longer than {@code stuckAfter}, else what is wrong.
     */
    public String healthProblem(Duration stuckAfter) {
        if (!thread.isAlive()) {
            return closing ? null : "the stamp-pipeline thread has ended";
        }
        long since = busySince;
        if (since != 0 && ticker.nanoTime() - since > stuckAfter.toNanos()) {
            return "one scan has been in work for " + (ticker.nanoTime() - since) / 1_000_000 + " ms (limit "
                    + stuckAfter.toMillis() + " ms); " + queue.size() + " scan(s) waiting";
        }
        return null;
    }

    /** Scans dropped since start because the queue was full or the gateway was stopping; the status reports it. */
    public long dropped() {
        return dropped.get();
    }

    private void run() {
        List<Frame> burst = new ArrayList<>(MAX_BURST);
        while (true) {
            Frame frame;
            try {
                frame = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            burst.clear();
            burst.add(frame);
            queue.drainTo(burst, MAX_BURST - 1);
            int stop = indexOfStop(burst);
            if (stop == 0) {
                return;
            }
            busySince = Math.max(1, ticker.nanoTime());
            try {
                processBurst(stop < 0 ? burst : burst.subList(0, stop));
            } finally {
                busySince = 0;
            }
            if (stop > 0 || (closing && queue.isEmpty())) {
                return;
            }
        }
    }

    private static int indexOfStop(List<Frame> frames) {
        for (int i = 0; i < frames.size(); i++) {
            if (frames.get(i) == STOP) {
                return i;
            }
        }
        return -1;
    }

    /** A stamp decided and not yet signalled; {@code append} is null until it is handed to the outbox. */
    private static final class Pending {
        final StampDraft draft;
        final String card;
        CompletableFuture<StoredEvent> append;
        long start;

        Pending(StampDraft draft, String card) {
            this.draft = draft;
            this.card = card;
        }
    }

    /**
     * The scans that were waiting together, in scan order: each is decided, the appends of those accepted
     * are handed to the outbox together (so they share one sync of its redo log), then each one's feedback
     * is given after its own append is durable. Anything else that gives feedback (a reject, a voucher, an
     * error), and a second scan of a card already waiting, first finishes the stamps before it: the
     * feedback keeps scan order and the counter rules see every earlier stamp of the card.
     */
    private void processBurst(List<Frame> frames) {
        List<Pending> pending = new ArrayList<>(frames.size());
        for (Frame frame : frames) {
            try {
                Pending p = decide(frame, pending);
                if (p != null) {
                    pending.add(p);
                }
            } catch (RuntimeException e) {
                finish(pending);
                Logger.error(e, "scan could not be processed");
                feedback.signal(Signal.STORAGE_FAULT, "error=" + e.getClass().getSimpleName());
            }
        }
        finish(pending);
    }

    /** Decides one scan; an accepted stamp is returned to be stored, anything else is answered here. */
    private Pending decide(Frame frame, List<Pending> pending) {
        if (vouchers != null && frame instanceof Frame.Text text && VoucherCode.looksLikeVoucher(text.text())) {
            finish(pending);
            vouchers.accept(text.text());
            return null;
        }
        Decision decision = policy.get().decide(frame);
        if (decision instanceof Decision.Reject reject) {
            finish(pending);
            reject(reject);
            return null;
        }
        Decision.Accept accept = (Decision.Accept) decision;
        StampDraft draft = factory.draft(accept);
        if (draft.kind() == EventKind.STAMP) {
            for (Pending p : pending) {
                if (p.draft.kind() == EventKind.STAMP && p.draft.programId().equals(draft.programId())
                        && p.draft.cardId().equals(draft.cardId())) {
                    finish(pending); // its stamp counts for this scan's cooldown and daily cap
                    break;
                }
            }
            Optional<Decision.Reject> limited = guard.check(draft.programId(), draft.cardId(), draft.deviceTime(),
                    Excerpt.of(accept.code()));
            if (limited.isPresent()) {
                finish(pending);
                reject(limited.get());
                return null;
            }
        }
        return new Pending(draft, "card=" + draft.cardId() + " program=" + draft.programId());
    }

    /** Hands every waiting stamp to the outbox at once, then gives each its feedback in order; empties the list. */
    private void finish(List<Pending> pending) {
        for (Pending p : pending) {
            p.start = ticker.nanoTime();
            p.append = outbox.append(p.draft);
        }
        for (Pending p : pending) {
            try {
                store(p);
            } catch (RuntimeException e) {
                Logger.error(e, "scan could not be processed");
                feedback.signal(Signal.STORAGE_FAULT, "error=" + e.getClass().getSimpleName());
            }
        }
        pending.clear();
    }

    private void store(Pending p) {
        busySince = Math.max(1, ticker.nanoTime()); // each scan of a burst gets its own time before it counts as stuck
        StampDraft draft = p.draft;
        String card = p.card;
        CompletableFuture<StoredEvent> append = p.append;
        StoredEvent stored;
        try {
            stored = awaitAppend(append, card);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof OutboxFullException full) {
                Logger.error("stamp NOT stored ({}): {}; the customer got STORAGE_FAULT", card, full.getMessage());
                feedback.signal(Signal.STORAGE_FAULT, card + " reason=OUTBOX_FULL");
                return;
            }
            storageFault(card, e.getCause() == null ? e : e.getCause());
            return;
        } catch (TimeoutException e) {
            storageFault(card, e);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (append.cancel(false)) {
                storageFault(card, e);
            } else {
                // only at a forced stop: the row may be committed, so no fault is claimed (nor a success)
                Logger.warn("interrupted while the stamp ({}) was being stored; it may be stored, no feedback given", card);
            }
            return;
        }
        if (draft.kind() == EventKind.STAMP) {
            guard.record(draft.programId(), draft.cardId(), draft.deviceTime());
        }
        boolean connected = online.getAsBoolean();
        feedback.signal(connected ? Signal.ACCEPTED : Signal.ACCEPTED_OFFLINE, card + " seq=" + stored.seq());
        appended.run();
        OutboxHealth health = outbox.health();
        if (health != OutboxHealth.OK && lastHealth == OutboxHealth.OK) {
            OutboxStatus st = outbox.status();
            feedback.signal(Signal.STORAGE_NEAR_FULL, "backlog=" + st.backlog() + " fileKB=" + st.fileBytes() / 1024
                    + " diskFreeKB=" + st.usableBytes() / 1024);
        }
        lastHealth = health;
        Logger.info("stamp seq={} {} stored in {} ms{}", stored.seq(), card,
                (ticker.nanoTime() - p.start) / 1_000_000, connected ? "" : " (offline: sent when the broker is back)");
    }

    /**
     * Waits up to {@code storeTimeout} for the append, then withdraws it if the outbox has not started it:
     * nothing is stored and the customer's STORAGE_FAULT ("scan again") is true. An append the outbox has
     * started cannot be withdrawn, so it is waited for whatever it takes: a fault answered for a row that
     * then commits makes the rescan stamp twice. (A write that never ends is the watchdog's: the pipeline
     * health check reports the scan stuck.)
     */
    private StoredEvent awaitAppend(CompletableFuture<StoredEvent> append, String card)
            throws ExecutionException, TimeoutException, InterruptedException {
        try {
            return append.get(storeTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            if (append.cancel(false)) {
                throw new TimeoutException("the outbox did not start the append within " + storeTimeout.toMillis()
                        + " ms; withdrawn, nothing stored");
            }
            Logger.warn("stamp ({}) not durable within {} ms, but the outbox is writing it: waiting for the outcome",
                    card, storeTimeout.toMillis());
            return append.get();
        }
    }

    private void reject(Decision.Reject reject) {
        Logger.warn("scan rejected: {} ({}); scanned {}", reject.reason(), reject.detail(), reject.excerpt());
        feedback.signal(Signal.forReject(reject.reason()), "reason=" + reject.reason() + " " + reject.detail());
    }

    private void storageFault(String card, Throwable cause) {
        Logger.error("stamp NOT stored ({}): {}; the customer got STORAGE_FAULT and should scan again", card,
                cause.toString());
        feedback.signal(Signal.STORAGE_FAULT, card + " error=" + cause.getClass().getSimpleName());
    }

    /** Stops accepting scans, processes those already queued, waits at most {@code wait}. */
    public void close(Duration wait) {
        closing = true;
        queue.offer(STOP);
        try {
            thread.join(wait.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            Logger.warn("pipeline did not drain within {} ms; {} scan(s) left unprocessed", wait.toMillis(), queue.size());
        }
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(1));
    }
}
