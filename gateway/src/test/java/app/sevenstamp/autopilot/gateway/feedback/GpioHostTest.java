package app.sevenstamp.autopilot.gateway.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.Ticker;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig.BuzzerType;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig.FeedbackType;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig.LedType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Board detection and GPIO access, on folders laid out like a Pi 4, a Pi 5 and a laptop. */
class GpioHostTest {
    @TempDir
    Path dir;

    private GpioHost host(String model, boolean accessible) throws IOException {
        Path modelFile = dir.resolve("model");
        if (model != null) {
            Files.writeString(modelFile, model + "\0");
        }
        Files.createDirectories(dir.resolve("dev"));
        Files.createDirectories(dir.resolve("pwm"));
        return new GpioHost(modelFile, dir.resolve("dev"), dir.resolve("pwm"), p -> accessible);
    }

    private void chip(String name) throws IOException {
        Files.createFile(dir.resolve("dev").resolve(name));
    }

    private void pwmChip(int n, int channels) throws IOException {
        Path chip = Files.createDirectories(dir.resolve("pwm").resolve("pwmchip" + n));
        Files.writeString(chip.resolve("npwm"), channels + "\n");
    }

    private static ConsoleFeedback console() {
        return new ConsoleFeedback(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false);
    }

    @Test
    void detectsAPi5AndItsRp1Pwm() throws IOException {
        GpioHost host = host("Raspberry Pi 5 Model B Rev 1.0", true);
        chip("gpiochip0");
        chip("gpiochip4");
        pwmChip(0, 2);
        pwmChip(2, 4);
        assertTrue(host.raspberryPi());
        assertTrue(host.rp1());
        assertEquals("Raspberry Pi 5 Model B Rev 1.0", host.model());
        assertEquals(Optional.empty(), host.problem());
        assertEquals(2, host.defaultPwmChannel(), "GPIO 18 is channel 2 of the RP1's PWM0");
        assertEquals(OptionalInt.of(2), host.pwmChip(2), "the first chip with a channel 2");
    }

    @Test
    void detectsAPi4AndItsPwm() throws IOException {
        GpioHost host = host("Raspberry Pi 4 Model B Rev 1.5", true);
        chip("gpiochip0");
        pwmChip(0, 2);
        assertTrue(host.raspberryPi());
        assertFalse(host.rp1());
        assertEquals(0, host.defaultPwmChannel(), "GPIO 18 is channel 0 of the Pi 4's PWM");
        assertEquals(OptionalInt.of(0), host.pwmChip(0));
        assertEquals(OptionalInt.empty(), host.pwmChip(2));
    }

    @Test
    void noPwmChipWithoutTheOverlay() throws IOException {
        GpioHost host = host("Raspberry Pi 4 Model B Rev 1.5", true);
        assertEquals(OptionalInt.empty(), host.pwmChip(0));
    }

    @Test
    void aLaptopIsNotAPi() throws IOException {
        GpioHost host = host(null, true);
        assertEquals("unknown", host.model());
        assertFalse(host.raspberryPi());
        assertEquals(Optional.of("no " + dir.resolve("dev").resolve("gpiochip*")
                + " on this machine (board: unknown); this is not a Raspberry Pi"), host.problem());
    }

    @Test
    void anInaccessibleChipNamesTheGroupToJoin() throws IOException {
        GpioHost host = host("Raspberry Pi 5 Model B Rev 1.0", false);
        chip("gpiochip0");
        Path chip = dir.resolve("dev").resolve("gpiochip0");
        PosixFileAttributes a = Files.readAttributes(chip, PosixFileAttributes.class);
        String owner = a.group().getName();
        String group = owner.equals("root") ? "gpio" : owner;
        String user = System.getProperty("user.name");
        String problem = host.problem().orElseThrow();
        assertTrue(problem.startsWith(chip + " is not readable and writable by user '" + user + "' (owner "), problem);
        assertTrue(problem.contains(": join group '" + group + "' (sudo usermod -aG " + group + " " + user
                + ", or SupplementaryGroups=" + group + " in the systemd unit) and restart"), problem);
        if (owner.equals("root")) {
            assertTrue(problem.endsWith("; the device belongs to root, so also give it to group gpio with a udev rule "
                    + "(Raspberry Pi OS ships one)"), problem);
        }
    }

    @Test
    void autoUsesTheConsoleOffAPi() throws IOException {
        ConsoleFeedback console = console();
        FeedbackSettings auto = FeedbackSettings.pair(FeedbackType.AUTO, 17, 27, 22);
        assertSame(console, Feedbacks.create(auto, Ticker.SYSTEM, console, host("Some Laptop", true)));
    }

    @Test
    void consoleWhenConfiguredEvenOnAPi() throws IOException {
        ConsoleFeedback console = console();
        GpioHost pi = host("Raspberry Pi 5 Model B Rev 1.0", true);
        chip("gpiochip0");
        FeedbackSettings settings = FeedbackSettings.pair(FeedbackType.CONSOLE, 17, 27, 22);
        assertSame(console, Feedbacks.create(settings, Ticker.SYSTEM, console, pi));
    }

    @Test
    void gpioThatCannotBeOpenedFallsBackToTheConsole() throws IOException {
        ConsoleFeedback console = console();
        GpioHost pi = host("Raspberry Pi 5 Model B Rev 1.0", false);
        chip("gpiochip0");
        assertSame(console, Feedbacks.create(FeedbackSettings.pair(FeedbackType.GPIO, 17, 27, 22), Ticker.SYSTEM,
                console, pi));
        assertSame(console, Feedbacks.create(FeedbackSettings.pair(FeedbackType.AUTO, 17, 27, 22), Ticker.SYSTEM,
                console, pi));
    }

    @Test
    void thisMachineHasNoGpioSoTheRealHostFallsBackToo() {
        // the build machine is not a Pi: exactly the "off a Pi" case, through the real /proc and /dev
        ConsoleFeedback console = console();
        FeedbackSettings passive = new FeedbackSettings(FeedbackType.GPIO, LedType.RGB, 17, 27, 23, BuzzerType.PASSIVE,
                22, FeedbackSettings.AUTO, FeedbackSettings.AUTO, Set.of());
        Feedback chosen = Feedbacks.create(passive, Ticker.SYSTEM, console);
        try {
            assertSame(console, chosen);
        } finally {
            chosen.close();
        }
    }
}
