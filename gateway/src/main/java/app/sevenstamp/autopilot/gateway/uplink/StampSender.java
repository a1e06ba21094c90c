package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.outbox.StoredEvent;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.support.Backoff;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.DoubleSupplier;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.tinylog.Logger;

/**
 * Sends the outbox to the sink over the link and deletes each event when the sink acknowledges it.
 *
 * <p>Delivery: QoS 1 from the outbox in sequence order, at most {@code mqtt.inflight} events waiting
 * for the sink's acknowledgement (a broker PUBACK only says the broker has it). After a reconnect,
 * or when no acknowledgement came for {@code ackTimeout}, every unacknowledged event is sent again; the
 * sink deduplicates on the event id, so delivery is at-least-once and the effect exactly-once. An
 * acknowledged event whose outbox delete fails is deleted again after a jittered, growing wait
 * ({@link UndeletedAcks}), connected or not, and is not sent again meanwhile.
 *
 * <p>Threading: a {@link LinkWorker}: all its state belongs to the link's thread, which is the only caller
 * of the outbox besides the pipeline. The acks arrive on Paho's thread ({@link AckReceiver}) and are handed
 * to the link's thread; {@link #wake()} is safe from any thread.
 */
final class StampSender implements LinkWorker {
    /** A reward chime makes sense only while the customer is still at the counter. */
    static final Duration REWARD_WINDOW = Duration.ofSeconds(1);
    private static final Duration OUTBOX_WAIT = Duration.ofSeconds(5);
    private static final Duration RETRY_READ = Duration.ofSeconds(1);
    /**
     * Retries of a failed delete: the outbox reopens a failed store at most once a second, and while it cannot
     * (a full disk) each retry costs one failed job, so a few seconds apart at most.
     */
    private static final Duration DELETE_RETRY_MIN = Duration.ofMillis(250);
    private static final Duration DELETE_RETRY_MAX = Duration.ofSeconds(5);

    private final MqttLink link;
    private final String stampsTopic;
    private final String acksTopic;
    private final Outbox outbox;
    private final Feedback feedback;
    private final Ticker ticker;
    private final String bootId;
    private final Duration ackTimeout;
    private final InflightWindow window;
    private final AckReceiver receiver;
    private final UndeletedAcks undeleted;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private volatile long published;

    // owned by the link's thread
    private long nextReadAt;
    /** The last outbox read returned less than asked: nothing more to send until a wake or a resend. */
    private boolean drained;
    /** Retry rounds of failed deletes since a delete last worked, for the log. */
    private int deleteRounds;

    /**
     * @param bootId     this boot's id: only events scanned in this boot can be timed for the reward chime
     * @param ackTimeout how long the sink may stay silent about a sent event before it is sent again
     * @param random     uniform in [0, 1), for the jitter of the delete retries
     */
    StampSender(MqttLink link, Topics topics, String deviceId, int inflight, Outbox outbox, Feedback feedback,
            Ticker ticker, String bootId, Duration ackTimeout, DoubleSupplier random) {
        this.link = Objects.requireNonNull(link, "link");
        this.stampsTopic = topics.stamps(deviceId);
        this.acksTopic = topics.acks(deviceId);
        this.outbox = Objects.requireNonNull(outbox, "outbox");
        this.feedback = Objects.requireNonNull(feedback, "feedback");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.bootId = Objects.requireNonNull(bootId, "bootId");
        this.ackTimeout = Objects.requireNonNull(ackTimeout, "ackTimeout");
        this.window = new InflightWindow(inflight);
        this.undeleted = new UndeletedAcks(new Backoff(DELETE_RETRY_MIN, DELETE_RETRY_MAX, random));
        // acks are bounded by what is in flight (twice, counting Paho's own redeliveries); a flood of
        // unsolicited ones beyond that is dropped and counted
        this.receiver = new AckReceiver(deviceId, 4 * inflight + 64, this::handOver);
    }

    /** Subscribes to the acks and runs on the link's thread; before the link starts. */
    void attach() {
        link.subscribe(acksTopic, receiver);
        link.addWorker(this);
    }

    /** Something was appended to the outbox: send it now rather than at the next timer. */
    void wake() {
        if (wakePending.compareAndSet(false, true)) {
            link.execute(() -> {
                wakePending.set(false);
                drained = false;
            });
        }
    }

    /** Events published since start, resends included. */
    long published() {
        return published;
    }

    /** Acknowledgements that could not be decoded. */
    long malformedAcks() {
        return receiver.malformed();
    }

    /** On Paho's thread. */
    private void handOver(StampAck ack) {
        link.execute(() -> {
            receiver.taken();
            onAck(ack);
        });
    }

    @Override
    public long dueAt(long now) {
        long due = Long.MAX_VALUE;
        if (link.readyHere()) {
            if (nextReadAt != 0) {
                due = nextReadAt;
            }
            OptionalLong oldest = window.oldestSentAt();
            if (oldest.isPresent()) {
                due = Math.min(due, oldest.getAsLong() + ackTimeout.toNanos());
            }
        }
        OptionalLong retry = undeleted.retryAt();
        if (retry.isPresent()) {
            due = Math.min(due, retry.getAsLong());
        }
        return due;
    }

    @Override
    public void run(long now) {
        for (UndeletedAcks.Acked acked : undeleted.due(now)) {
            delete(acked.seq(), acked.eventId()); // the outbox is local: connected or not
        }
        if (!link.readyHere()) {
            return;
        }
        if (nextReadAt != 0 && now - nextReadAt >= 0) {
            nextReadAt = 0;
        }
        OptionalLong oldest = window.oldestSentAt();
        if (oldest.isPresent() && now - oldest.getAsLong() >= ackTimeout.toNanos()) {
            Logger.warn("no acknowledgement from the sink for {} event(s) within {} s; sending them again",
                    window.size(), ackTimeout.toSeconds());
            window.resendAll();
            drained = false;
        }
        fill();
    }

    @Override
    public void ready() {
        window.resendAll();
        drained = false;
        Logger.debug("sending from the outbox; acknowledgements on {}", acksTopic);
    }

    @Override
    public void lost() {
        int unacked = window.size();
        window.resendAll();
        if (unacked > 0) {
            Logger.info("{} unacknowledged event(s) will be sent again after the reconnect", unacked);
        }
    }

    private void onAck(StampAck ack) {
        InflightWindow.Entry entry = window.acked(ack.eventId());
        String seq = entry == null ? "?" : String.valueOf(entry.seq());
        if (entry != null) {
            delete(entry.seq(), ack.eventId());
        } else {
            // an ack to an earlier process of this box (the broker kept its session), or a second one: the outbox
            // finds a row by its number, which only a send tells; the event is sent again and that ack deletes it
            Logger.debug("acknowledgement of event {}, not sent by this process: its row goes with the next one",
                    ack.eventId());
        }
        switch (ack.outcome()) {
            case REJECTED -> Logger.warn("sink rejected event {} (seq {}): {}", ack.eventId(), seq, ack.reason());
            case DUPLICATE -> Logger.debug("sink already had event {} (seq {})", ack.eventId(), seq);
            case ACCEPTED -> Logger.debug("sink accepted event {} (seq {})", ack.eventId(), seq);
        }
        if (ack.outcome() == AckOutcome.ACCEPTED && ack.rewardEarned() && entry != null
                && bootId.equals(entry.bootId())
                && ticker.nanoTime() - entry.scannedAtNanos() <= REWARD_WINDOW.toNanos()) {
            String card = ack.card() == null ? "" : "card=" + ack.card().cardId() + " program=" + ack.card().programId()
                    + " rewards=" + ack.card().rewardsAvailable();
            feedback.signal(Signal.REWARD_DUE, card);
        }
    }

    /** Deletes an acknowledged event; the outcome comes back to the link's thread. */
    private void delete(long seq, String eventId) {
        undeleted.deleting(eventId);
        outbox.delete(seq, eventId).whenComplete((found, error) -> link.execute(() -> onDeleteDone(seq, eventId, error)));
    }

    /** @param error null when the event is gone */
    private void onDeleteDone(long seq, String eventId, Throwable error) {
        if (error == null) {
            undeleted.deleted(eventId);
            if (deleteRounds > 0 && undeleted.size() == 0) {
                Logger.info("acknowledged events deleted from the outbox again, after {} failed attempt(s)", deleteRounds);
                deleteRounds = 0;
            }
            return;
        }
        Duration wait = undeleted.failed(seq, eventId, ticker.nanoTime());
        if (wait == null) {
            Logger.debug("cannot delete acknowledged event {} either: {}", eventId, error.toString());
            return;
        }
        deleteRounds++;
        String message = "cannot delete acknowledged event {} from the outbox (attempt {}): {}; {} acknowledged event(s) "
                + "wait, deleted again in {} ms and not sent again meanwhile";
        Object[] args = {eventId, deleteRounds, error.toString(), undeleted.size(), wait.toMillis()};
        if (deleteRounds == 1 || deleteRounds % 12 == 0) { // about once a minute while it lasts
            Logger.warn(message, args);
        } else {
            Logger.debug(message, args);
        }
    }

    /** Publishes from the outbox until the window is full or the outbox has nothing more. */
    private void fill() {
        while (link.readyHere() && !link.closing() && window.room() > 0 && nextReadAt == 0 && !drained) {
            int wanted = window.room();
            List<StoredEvent> batch;
            try {
                batch = outbox.pending(window.lastSentSeq(), wanted)
                        .get(OUTBOX_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                Logger.warn("cannot read the outbox ({}); trying again in {} s", e.toString(), RETRY_READ.toSeconds());
                nextReadAt = ticker.nanoTime() + RETRY_READ.toNanos();
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // the link's loop ends on it
                return;
            }
            drained = batch.size() < wanted;
            for (StoredEvent event : batch) {
                if (undeleted.holds(event.eventId())) {
                    window.skipped(event.seq()); // acknowledged, its delete under way or waiting for a retry
                    continue;
                }
                try {
                    link.publishHere(stampsTopic, event.payload(), false);
                } catch (MqttException e) {
                    // the connection is going down; connectionLost follows and resets the window
                    Logger.debug("publish of seq {} failed: {}", event.seq(), e.toString());
                    drained = false;
                    nextReadAt = ticker.nanoTime() + RETRY_READ.toNanos();
                    return;
                }
                window.sent(event, ticker.nanoTime());
                published++;
            }
        }
    }
}
