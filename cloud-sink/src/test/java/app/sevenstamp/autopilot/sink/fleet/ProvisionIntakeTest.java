package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProvisionIntakeTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final Queue<Runnable> fleetThread = new ArrayDeque<>();
    private final List<String> handled = new ArrayList<>();

    @Test
    void aBurstIsTakenTheRestDroppedAndTheTakenHandledInOrderAFewATurn() {
        ProvisionIntake intake = new ProvisionIntake(fleetThread::add, (nonce, payload) -> handled.add(nonce), now::get);
        for (int i = 0; i < 100; i++) {
            intake.offer("n" + i, new byte[0]);
        }
        assertEquals(ProvisionIntake.BURST, intake.admitted());
        assertEquals(100 - ProvisionIntake.BURST, intake.dropped());
        assertEquals(1, fleetThread.size(), "one drain task on the fleet thread, however many requests wait");
        fleetThread.poll().run();
        assertEquals(List.of("n0", "n1", "n2", "n3"), handled, "a few a turn, then the fleet's other work");
        assertEquals(1, fleetThread.size(), "and the drain is queued again behind it");
        while (!fleetThread.isEmpty()) {
            fleetThread.poll().run();
        }
        assertEquals(ProvisionIntake.BURST, handled.size());
        assertEquals("n39", handled.get(handled.size() - 1));

        now.addAndGet(1_000_000_000L / ProvisionIntake.RATE_PER_SECOND);
        intake.offer("later", new byte[0]);
        assertEquals(ProvisionIntake.BURST + 1, intake.admitted(), "a token a 50 ms");
    }

    @Test
    void aDrainTheFullFleetQueueRefusedIsScheduledAgainByTheNextRequest() {
        List<Runnable> refused = new ArrayList<>();
        ProvisionIntake[] self = new ProvisionIntake[1];
        self[0] = new ProvisionIntake(task -> {
            if (refused.isEmpty()) {
                refused.add(task);
                self[0].rejected(); // what FleetService's rejection handler does for this task
            } else {
                fleetThread.add(task);
            }
        }, (nonce, payload) -> handled.add(nonce), now::get);
        self[0].offer("a", new byte[0]);
        assertEquals(0, fleetThread.size());
        self[0].offer("b", new byte[0]);
        assertEquals(1, fleetThread.size());
        fleetThread.poll().run();
        assertEquals(List.of("a", "b"), handled, "nothing admitted is lost");
    }
}
