package app.sevenstamp.autopilot.gateway.voucher;

import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The CANCELs a box owes the sink: one per voucher request whose outcome the counter never got (a
 * timeout, a dropped connection, a stop, a record found at start), kept until the sink answers CANCELLED.
 * After a reconnect every one is due at once; while connected the due ones go out, each then waiting
 * twice as long (from {@link #RETRY} up to {@link #RETRY_MAX}) for its confirmation, at most
 * {@link #PER_TICK} per tick so that a large backlog does not flood the uplink's queue. Paho taking a
 * CANCEL proves nothing: the broker or the sink may still lose it.
 *
 * <p>Written on the voucher desk's thread only; {@link #contains} is also read by Paho's callback thread.
 */
final class RedeemCancels {
    /** First delay before a CANCEL is sent again while connected. */
    static final Duration RETRY = Duration.ofSeconds(2);
    static final Duration RETRY_MAX = Duration.ofSeconds(60);
    /** CANCELs handed to the uplink per tick. */
    static final int PER_TICK = 32;

    private final Map<String, Cancel> cancels = new ConcurrentHashMap<>();
    private final Clock clock;
    private final Consumer<RedeemRequest> publish;
    private final AtomicLong sent = new AtomicLong();
    /** The connection state at the last tick, to notice a reconnect. */
    private boolean wasConnected;

    /** A CANCEL and when it is due again. */
    private static final class Cancel {
        final RedeemRequest request;
        long dueNanos;
        long delayNanos = RETRY.toNanos();

        Cancel(RedeemRequest request, long dueNanos) {
            this.request = request;
            this.dueNanos = dueNanos;
        }
    }

    /** @param publish hands one CANCEL to the uplink (never waits) */
    RedeemCancels(Clock clock, Consumer<RedeemRequest> publish) {
        this.clock = clock;
        this.publish = publish;
    }

    /** The REDEEM's request is to be cancelled; its CANCEL is due at {@code nowNanos}. */
    void add(RedeemRequest redeem, long nowNanos) {
        cancels.put(redeem.requestId(), new Cancel(cancelOf(redeem), nowNanos));
    }

    /** Sends the CANCEL of this request now (it was just added, and the box is connected). */
    void sendNow(String requestId, long nowNanos) {
        Cancel c = cancels.get(requestId);
        if (c != null) {
            send(c, nowNanos);
        }
    }

    /** Every tick: after a reconnect all are due; while connected the due ones go out. */
    void tick(boolean connected, long nowNanos) {
        if (connected && !wasConnected) {
            for (Cancel c : cancels.values()) {
                c.dueNanos = nowNanos;
                c.delayNanos = RETRY.toNanos();
            }
        }
        wasConnected = connected;
        if (!connected) {
            return;
        }
        int handed = 0;
        for (Cancel c : cancels.values()) {
            if (handed >= PER_TICK) {
                break;
            }
            if (nowNanos - c.dueNanos >= 0) {
                send(c, nowNanos);
                handed++;
            }
        }
    }

    /** At a stop: the first {@link #PER_TICK} CANCELs once more, whatever their due time. */
    List<RedeemRequest> forStop() {
        List<RedeemRequest> out = cancels.values().stream().limit(PER_TICK).map(c -> c.request).toList();
        sent.addAndGet(out.size());
        return out;
    }

    private void send(Cancel cancel, long nowNanos) {
        cancel.dueNanos = nowNanos + cancel.delayNanos;
        cancel.delayNanos = Math.min(cancel.delayNanos * 2, RETRY_MAX.toNanos());
        sent.incrementAndGet();
        publish.accept(cancel.request);
    }

    /** The sink confirmed the CANCEL: nothing more is owed for it. */
    boolean confirmed(String requestId) {
        return cancels.remove(requestId) != null;
    }

    boolean contains(String requestId) {
        return cancels.containsKey(requestId);
    }

    int size() {
        return cancels.size();
    }

    /** CANCELs handed to the uplink so far (sends and resends). */
    long sent() {
        return sent.get();
    }

    /** The vouchers of the first {@code n} owed CANCELs, for a log line. */
    List<String> vouchers(int n) {
        return cancels.values().stream().limit(n).map(c -> c.request.voucherCode()).toList();
    }

    private RedeemRequest cancelOf(RedeemRequest r) {
        return new RedeemRequest(WireCodec.SCHEMA, r.requestId(), r.deviceId(), RedeemRequest.Action.CANCEL,
                r.voucherCode(), r.location(), clock.instant());
    }
}
