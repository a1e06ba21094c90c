package app.sevenstamp.autopilot.sink.broker;

import io.moquette.broker.Server;
import java.lang.reflect.Constructor;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;

/**
 * Moquette 0.17's session loops, seen from outside: a loop whose thread died is given a new thread
 * on the same queue.
 *
 * <p>Moquette 0.17 ends a session loop's thread on the first command that throws (its
 * {@code SessionEventLoop.executeTask} rethrows; upstream keeps the loop alive since its #957,
 * "remote DoS", in a version not available here). Every client hashed to that loop then hangs. Known
 * throwers are a PUBLISH marked DUP ({@link MoquetteGuard} keeps those out) and a PUBACK on a connection
 * whose session a takeover of its client id just purged (the message's buffer is released twice). The
 * provisioning login may take over its own {@code prov-} client ids, so a stranger with the public
 * password can produce the second on purpose. A new thread on the old queue costs only the failed
 * command; restarting the broker cost every client of the shop its connection.
 *
 * <p>Reaches in through the private {@code dispatcher.sessionLoops} of {@link Server} ({@link MoquetteInsides}); if Moquette's
 * insides differ, {@link #of} throws and the broker falls back to restarting ({@link EmbeddedBroker}).
 */
final class SessionLoops {
    /** Moquette's own array of its loops' threads: a new thread takes a dead one's place in it. */
    private final Thread[] loops;
    /** The loops' command queues (Moquette's array: the same queues for the broker's life). */
    private final BlockingQueue<?>[] work;
    private final Constructor<?> newLoop;
    /** Moquette's handler of each loop, which reports its death; read while the threads live (a dead thread forgets it). */
    private final Thread.UncaughtExceptionHandler[] reporters;

    private SessionLoops(Thread[] loops, BlockingQueue<?>[] work, Constructor<?> newLoop) {
        this.loops = loops;
        this.work = work;
        this.newLoop = newLoop;
        this.reporters = new Thread.UncaughtExceptionHandler[loops.length];
        for (int i = 0; i < loops.length; i++) {
            reporters[i] = loops[i].getUncaughtExceptionHandler();
        }
    }

    /**
     * True while a loop's queue has fewer than {@code free} places left: Moquette drops a command that does not
     * fit, whoever's it is ({@link MoquetteGuard} holds clients back meanwhile).
     */
    boolean crowded(int free) {
        for (BlockingQueue<?> q : work) {
            if (q.remainingCapacity() < free) {
                return true;
            }
        }
        return false;
    }

    /** @throws ReflectiveOperationException when Moquette's insides are not those of 0.17 */
    static SessionLoops of(Server server) throws ReflectiveOperationException {
        Object group = MoquetteInsides.sessionLoopGroup(server);
        if (!(MoquetteInsides.read(group, "sessionExecutors") instanceof Thread[] loops)
                || !(MoquetteInsides.read(group, "sessionQueues") instanceof BlockingQueue<?>[] work)) {
            throw new NoSuchFieldException("Moquette's session loop group has other fields than 0.17's");
        }
        Class<?> loopClass = Class.forName("io.moquette.broker.SessionEventLoop", false, Server.class.getClassLoader());
        Constructor<?> newLoop = loopClass.getDeclaredConstructor(BlockingQueue.class);
        newLoop.setAccessible(true);
        return new SessionLoops(loops, work, newLoop);
    }

    /**
     * Gives each loop whose thread has ended, or ends within {@code wait} (a loop reports its death
     * from its own dying thread), a new thread on its queue, with the old one's name and Moquette's
     * handler that reports the next death.
     *
     * @return how many loops got a new thread
     */
    int reviveDead(Duration wait) throws ReflectiveOperationException, InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (java.util.Arrays.stream(loops).allMatch(Thread::isAlive) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        int revived = 0;
        for (int i = 0; i < loops.length; i++) {
            Thread old = loops[i];
            if (old.isAlive()) {
                continue;
            }
            Thread fresh = (Thread) newLoop.newInstance(work[i]);
            fresh.setName(old.getName());
            fresh.setUncaughtExceptionHandler(reporters[i]);
            fresh.start();
            // Moquette compares against this element only to run a loop's own commands inline
            loops[i] = fresh;
            revived++;
        }
        return revived;
    }
}
