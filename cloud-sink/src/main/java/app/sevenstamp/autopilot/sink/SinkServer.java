package app.sevenstamp.autopilot.sink;

import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.sink.broker.EmbeddedBroker;
import app.sevenstamp.autopilot.sink.cards.CardIssuer;
import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.config.BrokerMode;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.fleet.AdminToken;
import app.sevenstamp.autopilot.sink.fleet.BrokerAccess;
import app.sevenstamp.autopilot.sink.fleet.CounterRulesBook;
import app.sevenstamp.autopilot.sink.fleet.DynSecAccess;
import app.sevenstamp.autopilot.sink.fleet.EmbeddedAccess;
import app.sevenstamp.autopilot.sink.fleet.FleetHttp;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
import app.sevenstamp.autopilot.sink.fleet.FleetService;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.service.SinkHealth;
import app.sevenstamp.autopilot.sink.http.AdminApi;
import app.sevenstamp.autopilot.sink.http.PublicApi;
import app.sevenstamp.autopilot.sink.http.PosApi;
import app.sevenstamp.autopilot.sink.http.VoucherApi;
import app.sevenstamp.autopilot.sink.web.Credentials;
import app.sevenstamp.autopilot.sink.till.TillDesk;
import app.sevenstamp.autopilot.sink.console.Audit;
import app.sevenstamp.autopilot.sink.console.ConsoleApi;
import app.sevenstamp.autopilot.sink.console.CardsPage;
import app.sevenstamp.autopilot.sink.console.CounterPage;
import app.sevenstamp.autopilot.sink.console.FleetPage;
import app.sevenstamp.autopilot.sink.console.JoinQr;
import app.sevenstamp.autopilot.sink.console.LivePage;
import app.sevenstamp.autopilot.sink.store.Activity;
import app.sevenstamp.autopilot.sink.console.ProblemsPage;
import app.sevenstamp.autopilot.sink.console.ProgramBook;
import app.sevenstamp.autopilot.sink.console.ProgramsPage;
import app.sevenstamp.autopilot.sink.console.VouchersPage;
import app.sevenstamp.autopilot.sink.console.UpdatesPage;
import app.sevenstamp.autopilot.sink.update.UpdateBook;
import app.sevenstamp.autopilot.sink.update.UpdateHttp;
import app.sevenstamp.autopilot.sink.update.UpdateService;
import app.sevenstamp.autopilot.sink.console.Operators;
import app.sevenstamp.autopilot.sink.console.Sessions;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.web.Router;
import app.sevenstamp.autopilot.sink.web.WebServer;
import app.sevenstamp.autopilot.sink.ingest.DeviceGate;
import app.sevenstamp.autopilot.sink.join.JoinHttp;
import app.sevenstamp.autopilot.sink.ingest.EventProcessor;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import app.sevenstamp.autopilot.sink.ingest.IngestRedo;
import app.sevenstamp.autopilot.sink.store.H2Database;
import app.sevenstamp.autopilot.sink.store.H2Snapshot;
import app.sevenstamp.autopilot.sink.store.StoreException;
import app.sevenstamp.autopilot.sink.ingest.IngestService;
import app.sevenstamp.autopilot.sink.metrics.PrometheusMetrics;
import app.sevenstamp.autopilot.sink.metrics.SinkCollector;
import app.sevenstamp.autopilot.sink.store.CardCorrections;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.voucher.PosCodePool;
import app.sevenstamp.autopilot.sink.voucher.PosCodeWatcher;
import app.sevenstamp.autopilot.sink.voucher.RedeemService;
import app.sevenstamp.autopilot.sink.voucher.Redemptions;
import app.sevenstamp.autopilot.sink.voucher.VoucherIssuer;
import app.sevenstamp.autopilot.sink.voucher.VoucherMetrics;
import app.sevenstamp.autopilot.sink.voucher.VoucherStore;
import app.sevenstamp.autopilot.sink.wallet.google.GoogleChannel;
import app.sevenstamp.autopilot.sink.wallet.google.GooglePassChannel;
import app.sevenstamp.autopilot.sink.wallet.google.GoogleWalletSetup;
import app.sevenstamp.autopilot.sink.webhook.WebhookDispatcher;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.wallet.CardStates;
import app.sevenstamp.autopilot.sink.wallet.PassChannel;
import app.sevenstamp.autopilot.sink.wallet.PassUpdates;
import app.sevenstamp.autopilot.sink.wallet.apple.AppleWallet;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.tinylog.Logger;

/**
 * The running sink, wired by hand in one place: signing key, store, embedded broker (if
 * configured), ingest, HTTP API; {@link #close()} stops them in the reverse order, each with a
 * bounded wait: about 2.2 s in total, most of it netty's graceful stop inside Moquette, and never
 * more than 4.5 s.
 */
public final class SinkServer implements AutoCloseable {
    /** How long {@link #start} waits for the first subscription. */
    static final Duration SUBSCRIBE_WAIT = Duration.ofSeconds(10);
    /** The whole stop must fit into systemd's and the operator's patience; 5 s was promised. */
    static final long STOP_BUDGET_MS = 4_500;
    /** Kept for SHUTDOWN of the store, which writes the file cleanly. */
    private static final long STORE_STOP_MS = 300;

    private final SinkConfig config;
    private final SigningKey key;
    private final SinkMetrics metrics;
    private final SinkStore store;
    private final EmbeddedBroker broker;
    private final IngestService ingest;
    private final WebServer http;
    private FleetService fleet;
    private UpdateService updates;
    private RedeemService redeem;
    private IngestRedo ingestRedo;
    private IngestRedo.Snapshots snapshots;
    /** Null when no vouchers.posCodes is set. */
    private PosCodeWatcher posCodeWatcher;
    /** Null when no webhook.url is set. */
    private final WebhookDispatcher webhooks;
    private GoogleWalletSetup google;
    /** Null when no wallet channel is configured. */
    private PassUpdates passUpdates;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SinkServer(SinkConfig config, SigningKey key, SinkMetrics metrics, SinkStore store, EmbeddedBroker broker,
            IngestService ingest, WebServer http, WebhookDispatcher webhooks) {
        this.config = config;
        this.key = key;
        this.metrics = metrics;
        this.store = store;
        this.broker = broker;
        this.ingest = ingest;
        this.http = http;
        this.webhooks = webhooks;
    }

    public static SinkServer start(SinkConfig config) {
        return start(config, Clock.systemUTC());
    }

    /**
     * Starts every part and waits until the ingest is subscribed (at most 10 s). With the embedded
     * broker a missing subscription is a failure; with an external broker that is down, the sink
     * starts anyway and keeps connecting in the background (see {@link #awaitIngestReady}). An H2 store is opened
     * only once its disk has room ({@link H2Snapshot#awaitRoom}): until then this waits.
     *
     * @throws app.sevenstamp.autopilot.protocol.support.ConfigException for an unusable key file
     * @throws app.sevenstamp.autopilot.sink.store.StoreException when the database cannot be opened
     * @throws java.io.UncheckedIOException when a port cannot be bound
     */
    public static SinkServer start(SinkConfig config, Clock clock) {
        long t0 = System.nanoTime();
        Deque<AutoCloseable> started = new ArrayDeque<>();
        try {
            SigningKey key = SigningKey.loadOrCreate(config.keysFile(), config.keyId());
            SinkMetrics metrics = new SinkMetrics();
            IngestRedo ingestRedo = null;
            H2Snapshot.Opened h2 = null;
            SinkStore store;
            if (config.store().postgres()) {
                store = SinkStore.open(config.store().open(config.databaseFile()));
            } else {
                // H2 does not keep every synced commit, nor its state across a crash (docs/durability.md): acknowledged
                // batches are logged since the last snapshot; a store that came back older is rebuilt from the snapshot
                Path redoFile = Path.of(config.databaseFile() + ".ingest.redo");
                try {
                    H2Snapshot.awaitRoom(config.databaseFile());
                    ingestRedo = IngestRedo.open(redoFile);
                    started.push(ingestRedo);
                    h2 = H2Snapshot.openTrusted(config.databaseFile(),
                            () -> (H2Database) config.store().open(config.databaseFile()), ingestRedo.generation(),
                            ingestRedo.unfinishedFirstStart());
                } catch (java.io.IOException e) {
                    throw new StoreException("ingest redo log " + redoFile + " or the snapshot cannot be read: "
                            + e.getMessage() + "; the sink does not start without them, since they may hold acknowledged "
                            + "stamps the store lost", e);
                }
                store = h2.store();
                Path storeFile = config.databaseFile();
                metrics.include(() -> Map.of("storeDisk.free", H2Snapshot.diskFree(storeFile)));
                ingestRedo.snapshotBytes(H2Snapshot.size(config.databaseFile()));
                if (ingestRedo.generation() == 0) {
                    // the first start: a snapshot before anything can be written, so that a store H2 cannot open
                    // later can always be rebuilt
                    H2Database db = h2.db();
                    try {
                        ingestRedo.checkpoint(generation -> H2Snapshot.write(db, generation, RedoLog.FILES));
                    } catch (java.io.IOException e) {
                        throw new StoreException("the first snapshot of " + db.describe() + " failed: " + e.getMessage(), e);
                    }
                }
            }
            started.push(store);
            EmbeddedBroker broker = null;
            String brokerUrl = config.brokerUrl();
            String adminToken = AdminToken.of(config);
            FleetRegistry registry = new FleetRegistry(store);
            // with provisioning on the embedded broker, the sink's own clients log in too
            String mqttUser = config.username();
            String mqttPassword = config.password();
            EmbeddedAccess embeddedAccess = null;
            if (config.brokerMode() == BrokerMode.EMBEDDED && config.fleetProvisioning()) {
                if (mqttUser == null) {
                    mqttUser = "autopilot-sink";
                    mqttPassword = adminToken;
                }
                embeddedAccess = new EmbeddedAccess(config.topics(), mqttUser, mqttPassword, config.clientId(),
                        config.provisionUsername(),
                        config.provisionPassword(), registry.passwordHashes());
            }
            if (config.brokerMode() == BrokerMode.EMBEDDED) {
                broker = EmbeddedBroker.start(config.brokerHost(), config.brokerPort(),
                        embeddedAccess == null ? null : new EmbeddedBroker.Access(embeddedAccess, embeddedAccess,
                                EmbeddedAccess.PROVISION_CLIENT_PREFIX));
                started.push(broker);
                metrics.include(broker::counters);
                if (embeddedAccess != null) {
                    embeddedAccess.disconnectWith(broker::disconnect);
                }
                brokerUrl = broker.url();
            }
            EmbeddedAccess finalEmbedded = embeddedAccess;
            java.util.function.Function<java.util.function.BiConsumer<String, byte[]>, BrokerAccess> accessFactory =
                    !config.fleetProvisioning() ? null
                    : finalEmbedded != null ? publisher -> finalEmbedded
                    : publisher -> new DynSecAccess(config.topics(), publisher);
            FleetService fleet = FleetService.start(new FleetService.Settings(brokerUrl, config.clientId() + "-fleet",
                    mqttUser, mqttPassword, config.topics(), config.provisionUsername(), config.provisionPassword(),
                    key.trustedKeyLine(), config.tls()), registry, accessFactory, clock, System::nanoTime);
            started.push(fleet);
            metrics.include(() -> Map.of("fleet.provisionRefusals", fleet.provisionRefusals(),
                    "fleet.provisionRequestsDropped", fleet.provisionRequestsDropped(),
                    "fleet.messagesDropped", fleet.messagesDropped()));
            metrics.include(() -> fleet.connectionStatus().counters("mqtt.fleet"));
            metrics.include(() -> fleet.requestsConnectionStatus().map(st -> st.counters("mqtt.provision")).orElse(Map.of()));
            // the file's programs with the owner's changes from the programs page over them (docs/console.md);
            // the ingest and the card pages read the live view, so a change counts from the next stamp
            ProgramBook programBook = ProgramBook.load(store, config.programs(), clock);
            Map<String, Program> programs = programBook.live();
            programBook.onChange(now -> fleet.publishRules(CounterRulesBook.versioned(store, now, clock)));
            fleet.publishRules(CounterRulesBook.versioned(store, programBook.current(), clock));
            fleet.renumberRulesWith(held -> CounterRulesBook.numberedPast(store, programBook.current(), clock, held));
            if (config.fleetProvisioning() && !fleet.awaitReady(SUBSCRIBE_WAIT)) {
                Logger.warn("fleet provisioning not ready yet on {}; it keeps trying in the background", brokerUrl);
            }
            // wallet passes follow their cards: each channel (Apple; Google plugs in the same way) gets a pending row
            // per changed card, written by the ledger hook in the change's transaction (docs/wallet.md)
            GoogleWalletSetup google = GoogleWalletSetup.start(config.google(), config.programs(), store, key, clock);
            started.push(google);
            List<PassChannel> channels = new java.util.ArrayList<>();
            if (google.channel() != GoogleChannel.OFF) {
                channels.add(new GooglePassChannel(google.channel(), key));
            }
            CardStates cardStates = new CardStates(store, programs, new VoucherStore(store), clock);
            AppleWallet apple = null;
            if (config.appleWallet().enabled()) {
                apple = AppleWallet.start(config.appleWallet(), key, store, cardStates, clock);
                channels.add(apple);
                metrics.include(apple::counters);
            } else {
                Logger.info("Apple Wallet off: wallet.apple.passTypeId is not set (docs/wallet.md, \"Apple Wallet\")");
            }
            PassUpdates passUpdates = null;
            LedgerHook walletHook = LedgerHook.NONE;
            if (!channels.isEmpty()) {
                passUpdates = new PassUpdates(store, channels, cardStates, clock, new SecureRandom()).start();
                started.push(passUpdates);
                metrics.include(passUpdates::counters);
                walletHook = passUpdates;
            }
            VoucherMetrics voucherMetrics = new VoucherMetrics();
            metrics.include(voucherMetrics::snapshot);
            PosCodePool posCodes = new PosCodePool(store, config.vouchers().posCodes(), config.vouchers().poolLowWarning(),
                    voucherMetrics);
            posCodes.importFile(clock.instant());
            PosCodeWatcher posCodeWatcher = null;
            if (posCodes.configured()) {
                posCodeWatcher = PosCodeWatcher.start(posCodes, clock);
                started.push(posCodeWatcher);
            }
            VoucherIssuer voucherIssuer = new VoucherIssuer(store, posCodes, config.vouchers().plans(), voucherMetrics, clock,
                    new SecureRandom(), key.verifier(), config.programs().keySet(), walletHook);
            LedgerHook ledgerHook = voucherIssuer.and(walletHook);
            // a device outside devices.allowed, or revoked, gets neither its stamps nor its redemptions applied
            DeviceGate admitted = DeviceGate.listed(config.access().allowedDevices()).and(fleet::admits);
            EventProcessor processor = new EventProcessor(config.topics(), key.verifier(), programs, store,
                    metrics, clock, new WireCodec(), admitted, ledgerHook);
            IngestRedo.Snapshots snapshots = null;
            if (ingestRedo != null) {
                H2Database db = h2.db();
                snapshots = generation -> H2Snapshot.write(db, generation, RedoLog.FILES);
                try {
                    int restored = ingestRedo.replayInto(processor);
                    if (restored > 0 || h2.rebuilt()) {
                        // a repaired store: a snapshot of it before anything else happens
                        ingestRedo.checkpoint(snapshots);
                    }
                } catch (java.io.IOException e) {
                    throw new StoreException("ingest redo log replay failed: " + e.getMessage(), e);
                }
            }
            // before the ingest starts, so its first batch is in the histograms
            PrometheusMetrics prometheus = new PrometheusMetrics(config.metrics().token(),
                    new SinkCollector(metrics, store, registry));
            metrics.timings(prometheus);
            IngestService ingest = IngestService.start(new IngestService.Settings(brokerUrl, config.clientId(),
                    mqttUser, mqttPassword, config.store().subscription(config.topics().allStamps()), config.tls()), processor,
                    store, ingestRedo, snapshots, metrics);
            started.push(ingest);
            Redemptions redemptions = new Redemptions(store, voucherMetrics, clock, walletHook);
            RedeemService redeem = RedeemService.start(new RedeemService.Settings(brokerUrl, config.clientId() + "-redeem",
                    mqttUser, mqttPassword, config.store().subscription(config.topics().allRedeems()), config.tls()),
                    config.topics(), redemptions, store, admitted,
                    device -> registry.device(device).map(FleetRegistry.Device::location), voucherMetrics, clock);
            started.push(redeem);
            metrics.include(() -> ingest.connectionStatus().counters("mqtt.ingest"));
            metrics.include(ingest::redoCounters);
            metrics.include(() -> redeem.connectionStatus().counters("mqtt.redeem"));
            WebhookDispatcher webhooks = null;
            if (config.webhook().enabled()) {
                webhooks = new WebhookDispatcher(store, config.webhook().url(), config.webhook().secret(), clock).start();
                started.push(webhooks);
            }
            Credentials credentials = new Credentials(adminToken, config.access().posKeys());
            Router router = new Router(credentials);
            SecureRandom random = new SecureRandom();
            Sessions sessions = new Sessions(store, clock, config.console().sessionIdle(), config.console().sessionLongest(),
                    random);
            credentials.sessions(sessions);

            TillDesk tills = new TillDesk(config.access().posKeys(), processor, redemptions, store, config.topics(), clock);
            VoucherApi voucherApi = new VoucherApi(new VoucherStore(store), voucherIssuer, tills, clock);
            Audit audit = new Audit(store, clock);
            new ConsoleApi(new Operators(store), sessions, audit, config.console(), clock, random).register(router);
            JoinQr joinQr = new JoinQr(programs, config.join());
            joinQr.register(router);
            new CounterPage(tills, audit, joinQr).register(router);
            new FleetPage(fleet, audit, clock).register(router);
            // staged box updates (docs/updates.md): manifests signed with a key derived from the card key
            UpdateService updates = new UpdateService(new UpdateBook(store), fleet, key.derivedKey(UpdateService.KEY_PURPOSE), clock);
            fleet.onStatus(updates::onStatus);
            UpdateHttp.register(router, updates);
            new UpdatesPage(updates, audit).register(router);
            new CardsPage(store, new CardCorrections(store, clock, voucherIssuer), programs, audit).register(router);
            new ProblemsPage(store, new DeadLetters(store), fleet).register(router);
            new LivePage(new Activity(store), clock).register(router);
            new VouchersPage(new VoucherStore(store), voucherIssuer, posCodes, audit, clock).register(router);
            new ProgramsPage(programBook, fleet, audit, clock).register(router);
            new PublicApi(store, programs, metrics, voucherApi::customerView).register(router);
            voucherApi.register(router);
            if (!config.access().posKeys().isEmpty()) {
                new PosApi(tills).register(router);
            }
            new AdminApi(new CardCorrections(store, clock, ledgerHook), new Ledger(store),
                    new DeadLetters(store), programs).register(router);
            FleetHttp.register(router, fleet);
            google.register(router);
            JoinHttp join = new JoinHttp(config.programs(), config.join(), new CardIssuer(key.signer(), new SecureRandom()),
                    store, new WalletLinks(google.channel(), key.derivedKey(GoogleWalletSetup.LINK_PURPOSE), apple != null, key), key.derivedKey("join-form"),
                    clock, System::nanoTime, new SecureRandom());
            join.register(router);
            metrics.include(join::metrics);
            if (apple != null) {
                apple.register(router, System::nanoTime);
            }
            prometheus.register(router);
            WebServer http = WebServer.start(config.http(), router);
            started.push(http);
            SinkServer server = new SinkServer(config, key, metrics, store, broker, ingest, http, webhooks);
            server.fleet = fleet;
            server.updates = updates;
            server.google = google;
            server.redeem = redeem;
            server.posCodeWatcher = posCodeWatcher;
            server.passUpdates = passUpdates;
            server.ingestRedo = ingestRedo;
            server.snapshots = snapshots;
            if (!ingest.awaitSubscribed(SUBSCRIBE_WAIT)) {
                if (broker != null) {
                    throw new IllegalStateException("the ingest did not subscribe to the embedded broker within "
                            + SUBSCRIBE_WAIT.toSeconds() + " s");
                }
                Logger.warn("broker {} not reachable yet; the sink keeps connecting in the background", brokerUrl);
            } else if (!redeem.awaitSubscribed(SUBSCRIBE_WAIT)) {
                Logger.warn("voucher redemption not subscribed yet on {}; it keeps trying in the background", brokerUrl);
            }
            Logger.info("sink started in {} ms: broker {}, HTTP port {}, key {}, programs {}",
                    (System.nanoTime() - t0) / 1_000_000, brokerUrl, http.port(), key.keyId(), config.programs().keySet());
            return server;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeAll(started);
            throw new IllegalStateException("interrupted while starting", e);
        } catch (RuntimeException e) {
            closeAll(started);
            throw e;
        }
    }

    /** The URL gateways use: the embedded broker's actual address (with the bound port), or broker.url. */
    /** The broker inside this sink, when broker.mode is embedded. */
    public java.util.Optional<EmbeddedBroker> embeddedBroker() {
        return java.util.Optional.ofNullable(broker);
    }

    public String brokerUrl() {
        return ingest.brokerUrl();
    }

    public int httpPort() {
        return http.port();
    }

    public SinkMetrics metrics() {
        return metrics;
    }

    public SinkConfig config() {
        return config;
    }

    /** Google Wallet, for the pass update queue; {@link GoogleChannel#OFF} without google.issuerId. */
    public GoogleChannel googleWallet() {
        return google.channel();
    }

    /** The line gateways put into {@code cards.trustedKeys}. */
    public String trustedKey() {
        return key.trustedKeyLine();
    }

    /** Waits until the ingest has subscribed for the first time; true at once if it has. */
    public boolean awaitIngestReady(Duration timeout) throws InterruptedException {
        return ingest.awaitSubscribed(timeout);
    }

    /** Connected and subscribed right now. */
    public boolean ingestConnected() {
        return ingest.isSubscribed();
    }

    /** What the systemd watchdog checks: ingest and redeem threads, store, broker connection ({@link SinkHealth}). */
    public app.sevenstamp.autopilot.protocol.support.HealthCheck healthCheck() {
        return SinkHealth.of(ingest::workerAlive, redeem::workerAlive, store::connection, ingest::isSubscribed,
                SinkHealth.BROKER_GRACE,
                System::nanoTime);
    }

    /** Staged box updates: releases, rollouts, each box's state. */
    public UpdateService updates() {
        return updates;
    }

    /** Fleet management: registry, claims, desired config, commands. */
    public FleetService fleet() {
        return fleet;
    }

    SinkStore store() {
        return store;
    }

    /**
     * Stops HTTP, ingest, broker, store, in that order, within {@value #STOP_BUDGET_MS} ms: the
     * broker, the only slow part, gets what the others left of that budget. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        long t0 = System.nanoTime();
        closeAll(posCodeWatcher == null ? new ArrayDeque<>(List.of(redeem)) : new ArrayDeque<>(List.of(posCodeWatcher, redeem)));
        closeAll(fleet == null ? new ArrayDeque<>(List.of(http, ingest)) : new ArrayDeque<>(List.of(http, fleet, ingest)));
        if (webhooks != null) {
            webhooks.close();
        }
        if (passUpdates != null) {
            passUpdates.close(); // first: it calls the wallet channels
        }
        if (google != null) {
            google.close();
        }
        if (broker != null) {
            long left = STOP_BUDGET_MS - STORE_STOP_MS - (System.nanoTime() - t0) / 1_000_000;
            broker.close(Duration.ofMillis(Math.max(500, left)));
        }
        if (ingestRedo != null && (ingest == null || ingest.stopSnapshotWanted())) {
            try {
                ingestRedo.checkpoint(snapshots); // the next start has nothing to replay
            } catch (java.io.IOException | RuntimeException e) {
                Logger.warn("ingest redo log checkpoint at stop failed ({}); the next start replays the log", e.toString());
            }
        }
        closeAll(new ArrayDeque<>(List.of(store)));
        if (ingestRedo != null) {
            closeAll(new ArrayDeque<>(List.of(ingestRedo)));
        }
        Logger.info("sink stopped in {} ms; counted {}", (System.nanoTime() - t0) / 1_000_000, metrics.snapshot());
    }

    private static void closeAll(Deque<AutoCloseable> parts) {
        while (!parts.isEmpty()) {
            AutoCloseable part = parts.pop();
            try {
                part.close();
            } catch (Exception e) {
                Logger.warn(e, "stopping {} failed", part.getClass().getSimpleName());
            }
        }
    }
}
