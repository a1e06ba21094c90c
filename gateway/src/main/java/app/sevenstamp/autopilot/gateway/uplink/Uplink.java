package app.sevenstamp.autopilot.gateway.uplink;

import app.sevenstamp.autopilot.gateway.config.MqttSettings;
import app.sevenstamp.autopilot.gateway.feedback.Feedback;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.protocol.Topics;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleSupplier;

/**
 * The box's connection to the sink, put together: one MQTT session ({@link MqttLink}, offered to the other
 * features as {@link #link()}) and the two features of the outbox that run on its thread, the
 * {@link ClockCorrector} and the {@link StampSender}. The wire contract is in docs/wire.md, the threads in
 * docs/threads.md.
 *
 * <p>Order of use: build, register the features with {@link #link()}, {@link #start()}, {@link #close()}.
 * {@link #wake()}, {@link #isConnected()} and the counters are safe from any thread.
 */
public final class Uplink implements AutoCloseable {
    private final MqttLink link;
    private final StampSender sender;

    /**
     * @param bootId      this boot's id: only events scanned in this boot can be timed for the reward chime
     * @param ackTimeout  how long the sink may stay silent about a sent event before it is sent again
     * @param random      uniform in [0, 1), for the backoff jitter
     * @param clock       the wall clock, for correcting events scanned before it synchronised
     * @param clockSynced whether the wall clock is synchronised now
     */
    public Uplink(MqttSettings settings, String deviceId, Outbox outbox, Feedback feedback, Ticker ticker,
            String bootId, Duration ackTimeout, DoubleSupplier random, Clock clock, BooleanSupplier clockSynced) {
        Objects.requireNonNull(deviceId, "deviceId");
        this.link = new MqttLink(settings, ticker, random);
        // the corrector first: a correction is made before the sender reads the next events
        link.addWorker(new ClockCorrector(outbox, bootId, clock, ticker, clockSynced));
        this.sender = new StampSender(link, new Topics(settings.topicPrefix()), deviceId, settings.inflight(), outbox,
                feedback, ticker, bootId, ackTimeout, random);
        sender.attach();
    }

    /** The session for the other features (fleet, counter rules, vouchers): register before {@link #start()}. */
    public Link link() {
        return link;
    }

    public void start() {
        link.start();
    }

    /** True while connected and subscribed; decides ACCEPTED versus ACCEPTED_OFFLINE. */
    public boolean isConnected() {
        return link.isConnected();
    }

    /** Something was appended to the outbox: send it now rather than at the next timer. */
    public void wake() {
        sender.wake();
    }

    /** For the systemd watchdog: the uplink thread has not ended (it catches everything but an Error). */
    public boolean running() {
        return link.running();
    }

    /** Events published since start, resends included. */
    public long published() {
        return sender.published();
    }

    /** Acknowledgements that could not be decoded. */
    public long malformedAcks() {
        return sender.malformedAcks();
    }

    /** Stops sending (nothing more is published), disconnects and waits at most {@code wait}. */
    public void close(Duration wait) {
        link.close(wait);
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(2));
    }
}
