package app.sevenstamp.autopilot.sink.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The thousand-box simulation, run by {@code scripts/fleet-sim BOXES MINUTES} (not part of the suite: its
 * name matches neither *Test nor *IT). One scan per box per 10 s for MINUTES, then a broker restart with
 * 500 stamps buffered per box. Writes the table to target/fleet-sim.md. {@code -Dfleet.brokerNodes=2} (scripts/fleet-sim's
 * BROKER_NODES) runs it on a two-node Artemis cluster instead of one Mosquitto.
 */
class FleetSimBench {
    @TempDir
    Path dir;

    @Test
    void measure() throws Exception {
        int boxes = Integer.getInteger("fleet.boxes", 1000);
        Duration steady = Duration.ofSeconds(Math.round(Double.parseDouble(System.getProperty("fleet.minutes", "2")) * 60));
        int backlog = Integer.getInteger("fleet.backlog", 500);
        int brokerNodes = Integer.getInteger("fleet.brokerNodes", 1);
        FleetSim.Report r = FleetSim.run(dir, new FleetSim.Plan(boxes, steady, Duration.ofSeconds(10), backlog, 20, 2, brokerNodes),
                System.out);
        System.out.println(r.table());
        Files.writeString(Path.of("target", "fleet-sim.md"), r.table() + "\n", StandardCharsets.UTF_8);
        assertEquals(List.of(), r.wrongDevices());
        assertEquals(r.steadyStamps() + r.stormStamps(), r.storedEvents());
    }
}
