package app.sevenstamp.autopilot.gateway.e2e;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;
import java.util.Set;

/**
 * A fault schedule drawn from a seed: idle periods, scan bursts and faults of every part, in an order
 * nobody chose. The same seed and length give the same steps (on any machine: {@link Random} is
 * specified), so a seed that fails reproduces.
 *
 * <p>The idle periods are drawn around the timers of the system, so that both sides of each one are
 * tried: the MQTT keepalive (30 s), H2's RETENTION_TIME (45 s; the outbox's compaction waits on it),
 * the fleet heartbeat (60 s), and the gateway's ack timeout (30 s, the resend). Every schedule also
 * holds, at a seeded place, one idle period beyond 60 s followed by a burst and a kill -9 of the
 * gateway or of the sink: the case reported to lose stamps (issue 11), tried by every run.
 *
 * <p>Parts that are taken down are brought back later in the schedule, and its last steps bring back
 * whatever is still down, so that the backlog can drain before the check.
 */
record FaultSchedule(long seed, Duration length, boolean smallDisk, List<FaultSchedule.Step> steps) {

    /** Beyond every timer in the system: retention 45 s, heartbeat 60 s, keepalive 30 s. */
    static final Duration LONG_IDLE = Duration.ofSeconds(61);

    FaultSchedule {
        Objects.requireNonNull(length, "length");
        steps = List.copyOf(steps);
    }

    enum Kind {
        IDLE, BURST,
        /** kill -9 and start again on the same outbox.dir. */
        KILL_GATEWAY,
        /** kill -9 once {@code at} of the burst's scans are answered, the others still queued; then start again. */
        KILL_GATEWAY_IN_BURST,
        /** kill -9 and start again on the same store. */
        KILL_SINK,
        /** SIGTERM and start again. */
        RESTART_SINK,
        /** kill -9, and stays down until {@link #SINK_UP}. */
        SINK_DOWN, SINK_UP,
        /** kill -9 and start again at once (Mosquitto keeps no sessions across it: persistence off). */
        KILL_BROKER,
        /** stopped (SIGTERM) until {@link #BROKER_UP}. */
        BROKER_DOWN, BROKER_UP,
        /** the wall clock of one process jumps (libfaketime); its monotonic clock does not, as with NTP. */
        CLOCK_JUMP_GATEWAY, CLOCK_JUMP_SINK,
        /** a ballast file fills the outbox's disk to the last byte; {@link #FREE_DISK} deletes it. */
        FILL_DISK, FREE_DISK
    }

    /**
     * One step. {@code time} is the idle period or the clock jump (negative: back); {@code scans} the
     * burst's size; {@code at} for {@link Kind#KILL_GATEWAY_IN_BURST}; {@code caughtUp}: a kill waits
     * first until the sink has every stamp confirmed so far (the kill lands after the acks and the
     * deletes), else it lands wherever the traffic is.
     */
    record Step(Kind kind, Duration time, int scans, int at, boolean caughtUp) {
        Step {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(time, "time");
        }

        static Step of(Kind kind) {
            return new Step(kind, Duration.ZERO, 0, 0, false);
        }

        static Step idle(Duration time) {
            return new Step(Kind.IDLE, time, 0, 0, false);
        }

        static Step burst(int scans) {
            return new Step(Kind.BURST, Duration.ZERO, scans, 0, false);
        }

        @Override
        public String toString() {
            return switch (kind) {
                case IDLE -> "idle " + seconds(time);
                case BURST -> "burst of " + scans + " scan(s)";
                case KILL_GATEWAY -> "kill -9 gateway" + (caughtUp ? " once the sink has caught up" : "") + ", start it again";
                case KILL_GATEWAY_IN_BURST -> "burst of " + scans + " scan(s), kill -9 gateway after " + at
                        + " answers, start it again";
                case KILL_SINK -> "kill -9 sink" + (caughtUp ? " once it has caught up" : "") + ", start it again";
                case RESTART_SINK -> "restart sink (SIGTERM)";
                case SINK_DOWN -> "kill -9 sink, leave it down";
                case SINK_UP -> "start sink";
                case KILL_BROKER -> "kill -9 broker, start it again";
                case BROKER_DOWN -> "stop broker (SIGTERM), leave it down";
                case BROKER_UP -> "start broker";
                case CLOCK_JUMP_GATEWAY -> "gateway wall clock jumps " + signed(time);
                case CLOCK_JUMP_SINK -> "sink wall clock jumps " + signed(time);
                case FILL_DISK -> "fill the outbox's disk";
                case FREE_DISK -> "free the outbox's disk";
            };
        }

        private static String seconds(Duration d) {
            return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
        }

        /** {@code +2h05m30s}, {@code -45s}. */
        private static String signed(Duration d) {
            Duration a = d.abs();
            String text = (a.toHours() > 0 ? a.toHours() + "h" : "") + (a.toMinutes() > 0 ? String.format(Locale.ROOT, "%02dm", a.toMinutesPart()) : "")
                    + String.format(Locale.ROOT, "%02ds", a.toSecondsPart());
            return (d.isNegative() ? "-" : "+") + text.replaceFirst("^0", "");
        }
    }

    /**
     * @param length roughly how long the steps take to run (idle periods and bursts estimated; starts and
     *               the final drain come on top)
     */
    static FaultSchedule generate(long seed, Duration length) {
        Random random = new Random(seed);
        boolean smallDisk = random.nextInt(3) == 0; // the outbox on a small tmpfs it can fill: one schedule in three
        Planner plan = new Planner(random, smallDisk);
        long motifAt = (long) (random.nextDouble() * 0.6 * length.toMillis());
        boolean motifDone = false;
        while (plan.elapsedMillis < length.toMillis() || !motifDone) {
            if (!motifDone && plan.elapsedMillis >= motifAt) {
                plan.longIdleThenKill(random.nextBoolean() ? Kind.KILL_GATEWAY : Kind.KILL_SINK);
                motifDone = true;
            } else {
                plan.episode();
            }
        }
        plan.heal();
        return new FaultSchedule(seed, length, smallDisk, plan.steps);
    }

    /** The kinds of step in this schedule. */
    Set<Kind> kinds() {
        Set<Kind> out = EnumSet.noneOf(Kind.class);
        steps.forEach(s -> out.add(s.kind()));
        return out;
    }

    /** Whether an idle period beyond 60 s is followed, with only bursts between, by a kill -9 of {@code kill}. */
    boolean longIdleThenKill(Kind kill) {
        boolean armed = false;
        boolean scanned = false;
        for (Step s : steps) {
            if (s.kind() == Kind.IDLE) {
                armed = s.time().compareTo(LONG_IDLE) >= 0;
                scanned = false;
            } else if (s.kind() == Kind.BURST) {
                scanned = true;
            } else if (armed && scanned && (s.kind() == kill
                    || kill == Kind.KILL_GATEWAY && s.kind() == Kind.KILL_GATEWAY_IN_BURST)) {
                return true;
            } else {
                armed = false;
            }
        }
        return false;
    }

    /** Draws the steps, keeping track of what is down and of the time the steps will roughly take. */
    private static final class Planner {
        private final Random random;
        private final boolean smallDisk;
        private final List<Step> steps = new ArrayList<>();
        private boolean brokerDown;
        private boolean sinkDown;
        long elapsedMillis;

        Planner(Random random, boolean smallDisk) {
            this.random = random;
            this.smallDisk = smallDisk;
        }

        /** An idle period, a burst, a fault, and sometimes a burst right after it. */
        void episode() {
            idle(drawIdle());
            burst(drawBurst());
            fault();
            if (random.nextInt(10) < 6) {
                burst(drawBurst());
            }
        }

        /**
         * Idle past every timer, scan, kill: the case reported to lose stamps, in every schedule. Mostly a
         * few scans, as after a quiet minute at a counter (the first commits after the idle are the ones
         * at risk). The sink is killed once it has acknowledged them (its store is then the only copy);
         * the gateway either with the broker down all along (the outbox is then the only copy) or online,
         * at once or once the sink has the stamps.
         */
        void longIdleThenKill(Kind kill) {
            bringUp();
            boolean offline = kill == Kind.KILL_GATEWAY && random.nextBoolean();
            if (offline) {
                add(Step.of(Kind.BROKER_DOWN), 500);
            }
            idle(Duration.ofMillis(LONG_IDLE.toMillis() + random.nextInt(10_000) / 100 * 100));
            burst(random.nextInt(4) < 3 ? 1 + random.nextInt(10) : 10 + random.nextInt(190));
            boolean caughtUp = kill == Kind.KILL_SINK || !offline && random.nextBoolean();
            add(new Step(kill, Duration.ZERO, 0, 0, caughtUp), kill == Kind.KILL_SINK ? 4000 : 3000);
            if (offline) {
                add(Step.of(Kind.BROKER_UP), 500);
            }
            burst(1 + random.nextInt(50));
        }

        void heal() {
            bringUp();
            burst(1 + random.nextInt(20)); // the last stamps go through parts that are all up
        }

        private void bringUp() {
            if (brokerDown) {
                add(Step.of(Kind.BROKER_UP), 500);
                brokerDown = false;
            }
            if (sinkDown) {
                add(Step.of(Kind.SINK_UP), 3000);
                sinkDown = false;
            }
        }

        /**
         * Bands around the timers: a few seconds (most often), below the keepalive and the ack timeout,
         * between them and the retention time, between retention and heartbeat, beyond all of them.
         */
        private Duration drawIdle() {
            int band = random.nextInt(12);
            long ms;
            if (band < 6) {
                ms = random.nextInt(5_000);
            } else if (band < 8) {
                ms = 10_000 + random.nextInt(19_000);
            } else if (band < 10) {
                ms = 31_000 + random.nextInt(13_000);
            } else if (band < 11) {
                ms = 46_000 + random.nextInt(13_000);
            } else {
                ms = LONG_IDLE.toMillis() + random.nextInt(30_000);
            }
            return Duration.ofMillis(ms / 100 * 100);
        }

        /** Mostly a few scans, as at a counter; sometimes hundreds, enough for the outbox to compact (4 MB). */
        private int drawBurst() {
            int kind = random.nextInt(10);
            if (kind < 5) {
                return 1 + random.nextInt(10);
            }
            if (kind < 9) {
                return 10 + random.nextInt(100);
            }
            return 200 + random.nextInt(400);
        }

        private void fault() {
            List<Runnable> choices = new ArrayList<>();
            // weights by repetition: what loses stamps when it goes wrong comes more often
            for (int i = 0; i < 3; i++) {
                choices.add(() -> add(new Step(Kind.KILL_GATEWAY, Duration.ZERO, 0, 0, random.nextBoolean()), 3000));
            }
            for (int i = 0; i < 2; i++) {
                choices.add(() -> {
                    int scans = 20 + random.nextInt(300);
                    add(new Step(Kind.KILL_GATEWAY_IN_BURST, Duration.ZERO, scans, random.nextInt(scans), false),
                            3000 + scans * 10L);
                });
            }
            if (!sinkDown) {
                for (int i = 0; i < 3; i++) {
                    choices.add(() -> add(new Step(Kind.KILL_SINK, Duration.ZERO, 0, 0, random.nextBoolean()), 4000));
                }
                choices.add(() -> add(Step.of(Kind.RESTART_SINK), 4000));
                choices.add(() -> {
                    add(Step.of(Kind.SINK_DOWN), 500);
                    sinkDown = true;
                });
            } else {
                for (int i = 0; i < 3; i++) {
                    choices.add(() -> {
                        add(Step.of(Kind.SINK_UP), 3000);
                        sinkDown = false;
                    });
                }
            }
            if (!brokerDown) {
                for (int i = 0; i < 2; i++) {
                    choices.add(() -> add(Step.of(Kind.KILL_BROKER), 500));
                }
                choices.add(() -> {
                    add(Step.of(Kind.BROKER_DOWN), 500);
                    brokerDown = true;
                });
            } else {
                for (int i = 0; i < 3; i++) {
                    choices.add(() -> {
                        add(Step.of(Kind.BROKER_UP), 500);
                        brokerDown = false;
                    });
                }
            }
            choices.add(() -> add(new Step(Kind.CLOCK_JUMP_GATEWAY, drawJump(), 0, 0, false), 0));
            choices.add(() -> add(new Step(Kind.CLOCK_JUMP_SINK, drawJump(), 0, 0, false), 0));
            if (smallDisk) {
                // full only for a while: a burst meets the full disk, and the disk is freed before any other fault
                for (int i = 0; i < 2; i++) {
                    choices.add(() -> {
                        add(Step.of(Kind.FILL_DISK), 1000);
                        burst(drawBurst());
                        idle(Duration.ofMillis(random.nextInt(3_000) / 100 * 100));
                        add(Step.of(Kind.FREE_DISK), 100);
                    });
                }
            }
            choices.add(() -> { }); // no fault this time
            choices.get(random.nextInt(choices.size())).run();
        }

        /** Forward like an NTP sync after a boot without RTC (up to two days), or back (up to six hours). */
        private Duration drawJump() {
            if (random.nextInt(3) < 2) {
                return Duration.ofSeconds(30 + (long) (Math.pow(random.nextDouble(), 3) * 48 * 3600));
            }
            return Duration.ofSeconds(-(30 + (long) (Math.pow(random.nextDouble(), 3) * 6 * 3600)));
        }

        private void idle(Duration d) {
            add(Step.idle(d), d.toMillis());
        }

        private void burst(int scans) {
            add(Step.burst(scans), 300 + scans * 10L);
        }

        private void add(Step step, long estimatedMillis) {
            steps.add(step);
            elapsedMillis += estimatedMillis;
        }
    }
}
