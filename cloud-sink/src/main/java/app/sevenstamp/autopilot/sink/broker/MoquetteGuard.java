package app.sevenstamp.autopilot.sink.broker;

import io.moquette.broker.Server;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.nio.NioEventLoop;
import io.netty.handler.codec.mqtt.MqttFixedHeader;
import io.netty.handler.codec.mqtt.MqttPublishMessage;
import io.netty.util.concurrent.EventExecutor;
import java.lang.reflect.Method;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.ArrayDeque;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import io.netty.util.AttributeKey;
import app.sevenstamp.autopilot.protocol.support.LogBudget;
import app.sevenstamp.autopilot.protocol.support.TokenBucket;
import io.netty.handler.codec.mqtt.MqttConnectMessage;
import io.netty.util.ReferenceCountUtil;
import org.tinylog.Logger;

/**
 * What the sink puts in each client's pipeline in front of Moquette 0.17, right after its MQTT decoder:
 * four guards against what Moquette does not withstand.
 *
 * <p><b>A PUBLISH marked DUP goes on unmarked.</b> Moquette 0.17 sends a DUP publish only to the
 * subscribers its first send is recorded to have failed for. With none recorded and a subscriber
 * matching, it retains the payload zero times, Netty throws, and the session loop ends (its
 * {@code PostOffice.publish2Subscribers}; {@link SessionLoops}). Paho marks its own resends after a
 * reconnect DUP, and anyone with a login that may publish where the sink listens can send one on
 * purpose. Sent as an ordinary publish it reaches every subscriber again, which MQTT's at-least-once
 * allows and the sink's deduplication by event id absorbs.
 *
 * <p><b>The public login is held to a budget.</b> Moquette queues every client's commands on a few
 * session loops of 1,024 commands each, and drops what does not fit, whoever it belongs to: a stranger
 * with the public provisioning password sent 20,000 publishes in 0.7 s, and the PUBACKs of the sink's
 * own fleet session that were dropped with them left its in-flight window full for good (no provisioning,
 * no statuses until the sink reconnected, which it had no reason to). Clients whose id starts with the
 * public prefix ({@code prov-}: only the provisioning login may use those) may send
 * {@link #PUBLIC_PER_CONNECTION} messages at once and {@link #PUBLIC_PER_SECOND} a second on average,
 * and all of them together {@link #PUBLIC_ALL_PER_SECOND}; beyond that the connection is closed. A box
 * provisions with five or six messages; a box that is cut retries.
 *
 * <p><b>Backpressure.</b> Moquette queues every client's commands on a few session loops and drops a
 * command that does not fit, whoever's it is, without telling anyone: a client that floods (a stolen box's
 * login, a bug) took the box beside it its publishes and the sink's ingest its PUBACKs, whose in-flight
 * window then stayed full, so no stamp reached the sink again. Once a queue is three quarters full, each
 * client's reading pauses, what it already sent waits here in order, and TCP slows the sender; reading
 * resumes when there is room ({@code BrokerBackpressureIT}).
 *
 * <p><b>Nothing passes a CONNECT before Moquette has marked it connected.</b> Moquette 0.17 marks a
 * connection connected in a listener on its CONNACK's write, added after the write was handed to the
 * client's event loop; when the write is done first, the listener becomes a later task of that loop, and a
 * SUBSCRIBE read before it is refused and the connection closed ("SUBSCRIBE received on already closed
 * connection"). Paho subscribes as soon as its CONNACK arrives, so on a busy machine the sink's own
 * sessions and boxes lost their first connection now and then; MQTT 3.1.1 (section 3.1.4) lets a client
 * send without waiting for the CONNACK, which lost it every time. What a client sends after its CONNECT
 * waits here, in order, until Moquette's flag is set ({@code EarlySubscribeIT}), at most
 * {@link #CONNACK_WAIT_MS}; then Moquette decides as before.
 *
 * <p>Moquette has no hook into its Netty pipelines, so this reaches in once per start: it finds the
 * listening channel through the private {@code acceptor.bossGroup} of {@link Server} (and the
 * package-private selector of its Netty loop) and adds a handler there that puts the guard right after
 * Moquette's {@code decoder} in each accepted client's pipeline, before that client's first read (and
 * guards a client accepted before that, through {@code acceptor.workerGroup}). If Moquette's insides
 * change (another version), {@link #install} throws and the sink does not start: {@code DupPublishIT}
 * fails first.
 */
final class MoquetteGuard {
    /** The name Moquette 0.17 gives its MQTT decoder in each client's pipeline ({@code NewNettyAcceptor}). */
    private static final String MOQUETTE_DECODER = "decoder";
    private static final String NAME = "sink-moquette-guard";
    /** The channel attribute where Moquette 0.17's handler keeps a client's {@code MQTTConnection}. */
    private static final String MOQUETTE_CONNECTION = "connection";
    static final int PUBLIC_PER_CONNECTION = 10;
    static final int PUBLIC_PER_SECOND = 2;
    static final int PUBLIC_ALL_PER_SECOND = 20;
    static final int PUBLIC_ALL_BURST = 40;
    /** How long what follows a CONNECT may wait for Moquette to mark the connection connected. */
    static final long CONNACK_WAIT_MS = 10_000;

    private MoquetteGuard() {
    }

    /** One broker's settings and counts, shared by its clients' guards. */
    static final class Policy {
        private final String publicPrefix;
        private final TokenBucket allPublic = new TokenBucket(PUBLIC_ALL_PER_SECOND, PUBLIC_ALL_BURST, System::nanoTime);
        private final LogBudget cutLines = LogBudget.tenAMinute();
        final LongAdder dupPublishes = new LongAdder();
        final LongAdder publicCuts = new LongAdder();
        final LongAdder heldBack = new LongAdder();
        final LongAdder heldForConnack = new LongAdder();
        /** True while a Moquette queue is nearly full. */
        private final BooleanSupplier crowded;

        /**
         * @param publicPrefix the client ids of the public login ({@code prov-}); null: none is public
         * @param crowded      true while a Moquette queue is nearly full
         */
        Policy(String publicPrefix, BooleanSupplier crowded) {
            this.publicPrefix = publicPrefix;
            this.crowded = crowded;
        }

        boolean isPublic(String clientId) {
            return publicPrefix != null && clientId != null && clientId.startsWith(publicPrefix);
        }

        void cut(String clientId) {
            publicCuts.increment();
            long skipped = cutLines.take();
            if (skipped >= 0) {
                Logger.warn("embedded broker: closed {}'s connection: the public login may send {} messages at once and "
                        + "{} a second ({} a second all together){}", clientId, PUBLIC_PER_CONNECTION, PUBLIC_PER_SECOND,
                        PUBLIC_ALL_PER_SECOND, LogBudget.leftOut(skipped));
            }
        }
    }

    /**
     * Guards every client that connects to {@code server} from now on.
     *
     * @throws IllegalStateException when Moquette's listener cannot be found
     */
    static void install(Server server, Policy policy) {
        Predicate<Channel> connected = connectedFlag();
        int listeners = forEachChannel(group(server, "bossGroup"), channel -> {
            if (channel instanceof ServerChannel listener) {
                listener.pipeline().addFirst(NAME, new Installer(policy, connected));
                return true;
            }
            return false;
        });
        if (listeners == 0) {
            throw new IllegalStateException("the embedded broker's guard found no listening channel: Moquette's "
                    + "insides differ from 0.17's, the only version it knows");
        }
        // a client accepted between Moquette's bind and the line above
        forEachChannel(group(server, "workerGroup"), channel -> {
            if (channel.pipeline().get(NAME) != null) {
                return false;
            }
            if (channel.pipeline().get(MOQUETTE_DECODER) != null) {
                channel.pipeline().addAfter(MOQUETTE_DECODER, NAME, new Guard(policy, connected));
            } else {
                channel.pipeline().addLast(new Placer(policy, connected));
            }
            return true;
        });
    }

    /**
     * Whether Moquette has marked a channel's connection connected: its package-private
     * {@code MQTTConnection.isConnected()}, on the connection its handler keeps in the channel's attribute
     * {@code connection}; true while the channel has none (nothing to wait for).
     */
    private static Predicate<Channel> connectedFlag() {
        AttributeKey<Object> key = AttributeKey.valueOf(MOQUETTE_CONNECTION);
        Method isConnected;
        try {
            isConnected = MoquetteInsides.method("io.moquette.broker.MQTTConnection", "isConnected");
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("the embedded broker's guard cannot reach Moquette's connection state: " + e, e);
        }
        return channel -> {
            Object connection = channel.attr(key).get();
            try {
                return connection == null || (Boolean) isConnected.invoke(connection);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("Moquette's MQTTConnection.isConnected() failed: " + e, e);
            }
        };
    }

    /** Runs {@code action} on each channel registered with {@code group}, on its event loop; how often it said true. */
    private static int forEachChannel(EventLoopGroup group, Predicate<Channel> action) {
        int count = 0;
        for (EventExecutor executor : group) {
            // only loops that hold a channel: submitting to the others would start their threads for nothing
            if (executor instanceof NioEventLoop loop && loop.registeredChannels() > 0) {
                count += onLoop(loop, () -> {
                    int n = 0;
                    for (SelectionKey key : selector(loop).keys()) {
                        if (key.isValid() && key.attachment() instanceof Channel channel && action.test(channel)) {
                            n++;
                        }
                    }
                    return n;
                });
            }
        }
        return count;
    }

    /** Moquette's {@code acceptor.bossGroup} (the listener's loops) or {@code acceptor.workerGroup} (the clients'). */
    private static EventLoopGroup group(Server server, String name) {
        try {
            return (EventLoopGroup) MoquetteInsides.read(MoquetteInsides.read(server, "acceptor"), name);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("the embedded broker's guard cannot reach Moquette's listener: " + e, e);
        }
    }

    /** The loop's own selector: Netty 4.1 keeps {@code NioEventLoop.unwrappedSelector()} package-private. */
    private static Selector selector(NioEventLoop loop) throws ReflectiveOperationException {
        Method m = NioEventLoop.class.getDeclaredMethod("unwrappedSelector");
        m.setAccessible(true);
        return (Selector) m.invoke(loop);
    }

    private static int onLoop(NioEventLoop loop, java.util.concurrent.Callable<Integer> task) {
        try {
            return loop.submit(task).get(5, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("the embedded broker's guard could not be installed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while installing the embedded broker's guard", e);
        }
    }

    /** On the listening channel: each accepted client gets a {@link Placer} ahead of Moquette's initializer. */
    @ChannelHandler.Sharable
    private static final class Installer extends ChannelInboundHandlerAdapter {
        private final Policy policy;
        private final Predicate<Channel> connected;

        Installer(Policy policy, Predicate<Channel> connected) {
            this.policy = policy;
            this.connected = connected;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Channel client) {
                client.pipeline().addLast(new Placer(policy, connected));
            }
            ctx.fireChannelRead(msg);
        }
    }

    /**
     * In a client's pipeline until it is active: by then Moquette's initializer has added its decoder,
     * and nothing has been read yet (Netty starts reading after channelActive has gone through).
     */
    private static final class Placer extends ChannelInboundHandlerAdapter {
        private final Policy policy;
        private final Predicate<Channel> connected;

        Placer(Policy policy, Predicate<Channel> connected) {
            this.policy = policy;
            this.connected = connected;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            if (ctx.pipeline().get(MOQUETTE_DECODER) == null) {
                // unguarded, a client could end a session loop: refuse it rather than serve it
                Logger.error("embedded broker: no '{}' in a client's pipeline, closing it (MoquetteGuard)", MOQUETTE_DECODER);
                ctx.close();
                return;
            }
            ctx.pipeline().addAfter(MOQUETTE_DECODER, NAME, new Guard(policy, connected));
            ctx.pipeline().remove(this);
            ctx.fireChannelActive();
        }
    }

    /** Right after Moquette's decoder, one per client: the guards of this class. */
    private static final class Guard extends ChannelInboundHandlerAdapter {
        private static final long RETRY_MS = 2;
        private final Policy policy;
        private final Predicate<Channel> connected;
        /** Set when the CONNECT went on to Moquette, until Moquette has marked the connection connected. */
        private boolean awaitingConnack;
        private long connectPassedAt;
        /** This connection's budget, once its CONNECT named a public client id. */
        private TokenBucket own;
        private String clientId;
        private boolean cut;
        /**
         * What was read while a Moquette queue was nearly full, in order; not empty while this client's reading
         * is paused. Only the channel's event loop touches it.
         */
        private final ArrayDeque<Object> held = new ArrayDeque<>();

        Guard(Policy policy, Predicate<Channel> connected) {
            this.policy = policy;
            this.connected = connected;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (cut) {
                ReferenceCountUtil.release(msg); // what was read with the message that went over the budget
                return;
            }
            if (msg instanceof MqttConnectMessage connect && connect.payload() != null
                    && policy.isPublic(connect.payload().clientIdentifier())) {
                clientId = connect.payload().clientIdentifier();
                own = new TokenBucket(PUBLIC_PER_SECOND, PUBLIC_PER_CONNECTION, System::nanoTime);
            }
            if (own != null && !(own.take() && policy.allPublic.take())) {
                cut = true;
                policy.cut(clientId);
                ReferenceCountUtil.release(msg);
                releaseHeld();
                ctx.close();
                return;
            }
            if (!held.isEmpty()) {
                held.add(msg); // already paused
                return;
            }
            if (stillConnecting(ctx)) {
                held.add(msg);
                policy.heldForConnack.increment();
                pause(ctx);
                return;
            }
            if (policy.crowded.getAsBoolean()) {
                held.add(msg);
                policy.heldBack.increment();
                pause(ctx);
                return;
            }
            pass(ctx, msg);
        }

        /** True while Moquette has not yet marked this client's connection connected after its CONNECT. */
        private boolean stillConnecting(ChannelHandlerContext ctx) {
            if (!awaitingConnack) {
                return false;
            }
            if (connected.test(ctx.channel())
                    || System.nanoTime() - connectPassedAt > TimeUnit.MILLISECONDS.toNanos(CONNACK_WAIT_MS)) {
                awaitingConnack = false; // from now on Moquette has the last word, as without this guard
                return false;
            }
            return true;
        }

        /**
         * This client's reading pauses (TCP then slows the sender) until Moquette has marked its connection
         * connected and its queues have room again (the backpressure Moquette lacks), checked every
         * {@link #RETRY_MS} ms; what was already read waits here, in order.
         */
        private void pause(ChannelHandlerContext ctx) {
            ctx.channel().config().setAutoRead(false);
            ctx.executor().schedule(() -> retry(ctx), RETRY_MS, TimeUnit.MILLISECONDS);
        }

        private void retry(ChannelHandlerContext ctx) {
            if (!ctx.channel().isActive()) {
                releaseHeld();
                return;
            }
            while (!held.isEmpty() && !stillConnecting(ctx) && !policy.crowded.getAsBoolean()) {
                pass(ctx, held.poll());
            }
            if (held.isEmpty()) {
                ctx.channel().config().setAutoRead(true); // and reads again
            } else {
                ctx.executor().schedule(() -> retry(ctx), RETRY_MS, TimeUnit.MILLISECONDS);
            }
        }

        /** A publish marked DUP goes on unmarked, with the same header fields and payload; the rest as it is. */
        private void pass(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof MqttConnectMessage) {
                awaitingConnack = true;
                connectPassedAt = System.nanoTime();
            }
            if (msg instanceof MqttPublishMessage publish && publish.fixedHeader().isDup() && publish.decoderResult().isSuccess()) {
                MqttFixedHeader h = publish.fixedHeader();
                policy.dupPublishes.increment();
                // the payload's reference passes to the new message, which Moquette releases
                ctx.fireChannelRead(new MqttPublishMessage(
                        new MqttFixedHeader(h.messageType(), false, h.qosLevel(), h.isRetain(), h.remainingLength()),
                        publish.variableHeader(), publish.payload()));
                return;
            }
            ctx.fireChannelRead(msg);
        }

        private void releaseHeld() {
            Object m;
            while ((m = held.poll()) != null) {
                ReferenceCountUtil.release(m);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            releaseHeld();
            ctx.fireChannelInactive();
        }
    }
}
