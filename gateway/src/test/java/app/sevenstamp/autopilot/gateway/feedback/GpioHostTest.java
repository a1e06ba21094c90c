package app.sevenstamp.autopilot.gateway.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.BuzzerType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.FeedbackType;
import app.sevenstamp.autopilot.gateway.config.FeedbackSettings.LedType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.List;
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
        FakeBoard board = new FakeBoard(dir);
        if (model != null) {
            board.model(model);
        }
        Files.createDirectories(dir.resolve("dev"));
        return board.host(p -> accessible);
    }

    private void chip(String name) throws IOException {
        Files.createFile(dir.resolve("dev").resolve(name));
    }

    private static ConsoleFeedback console() {
        return new ConsoleFeedback(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false);
    }

    @Test
    void findsThePi5HeaderChipByItsLabelWhateverItsNumber() {
        GpioHost host = FakeBoard.pi5(dir).host();
        assertTrue(host.raspberryPi());
        assertEquals(Optional.of(Board.PI_5), host.board());
        assertEquals("Raspberry Pi 5 Model B Rev 1.0", host.model(), "the device tree's NUL is not part of it");
        GpioHost.Chip chip = host.headerChip("auto");
        assertEquals("gpiochip0", chip.name());
        assertEquals("pinctrl-rp1", chip.label());
        assertEquals("sysfs", chip.labelSource());
        assertEquals(Optional.of(chip), host.pi4jChip());
        // gpiochip4 -> gpiochip0 is listed once; the brcmstb banks share a parent, so sysfs cannot tell their labels
        assertEquals(List.of("gpiochip0 [pinctrl-rp1]", "gpiochip10 [label unknown]", "gpiochip11 [label unknown]",
                "gpiochip12 [label unknown]", "gpiochip13 [label unknown]"),
                host.chips().stream().map(GpioHost.Chip::describe).toList());
    }

    @Test
    void findsThePi5HeaderChipOnTheEarlyKernelsToo() {
        // before raspberrypi/linux#6144 the RP1 was gpiochip4 after the SoC's gpiochip0..3
        GpioHost host = new FakeBoard(dir).model("Raspberry Pi 5 Model B Rev 1.0")
                .gpioChip(0, "platform/soc/107d508500.gpio", "gpio-brcmstb@107d508500", 512, 32)
                .gpioChip(2, "platform/soc/107d517c00.gpio", "gpio-brcmstb@107d517c00", 548, 17)
                .gpioChip(4, "platform/axi/1000120000.pcie/1f000d0000.gpio", "pinctrl-rp1", 571, 54).host();
        assertEquals("gpiochip4", host.headerChip("auto").name());
        assertEquals("gpiochip4", host.pi4jChip().orElseThrow().name());
    }

    @Test
    void twoDigitChipNumbersAreNamesNotDigits() {
        // kernel 6.12.96 on a Pi 5: no gpiochip0 at all (adafruit/Adafruit_Blinka#1119); libgpiod lists gpiochip15 after gpiochip11
        GpioHost host = new FakeBoard(dir).model("Raspberry Pi 5 Model B Rev 1.1")
                .gpioChip(11, "platform/soc/107d508500.gpio", "gpio-brcmstb@107d508500", 512, 32)
                .gpioChip(15, "platform/axi/1000120000.pcie/1f000d0000.gpio", "pinctrl-rp1", 600, 54).host();
        assertEquals("gpiochip15", host.headerChip("auto").name());
        assertEquals("gpiochip15", host.pi4jChip().orElseThrow().name());
    }

    @Test
    void theIoctlLabelComesFirst() {
        FakeBoard board = FakeBoard.pi4(dir);
        GpioHost host = new GpioHost(dir, p -> p.getFileName().toString().equals("gpiochip1")
                ? Optional.of(new GpioCdev.ChipInfo("gpiochip1", "pinctrl-bcm2711", 58)) : Optional.empty(), p -> true);
        // an invented board where the ioctl and sysfs disagree: the ioctl's answer is what libgpiod and Pi4J see
        GpioHost.Chip chip = host.headerChip("auto");
        assertEquals("gpiochip0", chip.name(), "gpiochip0's sysfs label is read when its ioctl fails, and it comes first");
        assertEquals("sysfs", chip.labelSource());
        GpioHost.Chip one = host.chips().get(1);
        assertEquals("gpiochip1 [pinctrl-bcm2711] (58 lines)", one.describe());
        assertEquals("ioctl", one.labelSource());
        assertTrue(board.root.equals(dir));
    }

    @Test
    void findsThePi4AndZero2WChips() throws IOException {
        assertEquals("gpiochip0 [pinctrl-bcm2711]", FakeBoard.pi4(dir.resolve("pi4")).host().headerChip("auto").describe());
        GpioHost zero = FakeBoard.zero2w(dir.resolve("zero")).host();
        assertEquals(Optional.of(Board.PI_3), zero.board());
        assertEquals("gpiochip0 [pinctrl-bcm2835]", zero.headerChip("auto").describe());
    }

    @Test
    void aConfiguredChipWinsByLabelOrName() {
        GpioHost host = FakeBoard.pi5(dir).host();
        assertEquals("gpiochip12", host.headerChip("gpiochip12").name());
        assertEquals("gpiochip0", host.headerChip("pinctrl-rp1").name());
        GpioLookupException e = assertThrows(GpioLookupException.class, () -> host.headerChip("gpiochip7"));
        assertTrue(e.getMessage().startsWith("feedback.gpio.chip=gpiochip7 matches no GPIO chip's name or label: found "
                + "gpiochip0 [pinctrl-rp1], gpiochip10 [label unknown]"), e.getMessage());
    }

    @Test
    void anUnknownBoardNamesTheKeyToSet() {
        GpioHost host = new FakeBoard(dir).model("Radxa ROCK 5B")
                .gpioChip(0, "platform/fd8a0000.gpio", "gpio0", 0, 32).host();
        GpioLookupException e = assertThrows(GpioLookupException.class, () -> host.headerChip("auto"));
        assertEquals("board 'Radxa ROCK 5B' is not one this gateway knows (Pi 5, Pi 4, Pi 3 / Zero 2 W): set "
                + "feedback.gpio.chip to the label or name of the chip that drives the 40-pin header (gpiodetect "
                + "lists them); found gpiochip0 [gpio0]", e.getMessage());
        assertEquals("gpiochip0", host.headerChip("gpio0").name(), "the configured chip still works there");
        GpioLookupException pwm = assertThrows(GpioLookupException.class, () -> host.pwmChip(0));
        assertTrue(pwm.getMessage().endsWith("set feedback.pwm.chip and feedback.pwm.channel for the passive buzzer"),
                pwm.getMessage());
    }

    @Test
    void aPiWithoutTheLabelSaysWhatItFound() {
        // a Pi 4 image without CONFIG_GPIO_SYSFS and a chip the ioctl cannot open
        GpioHost host = new FakeBoard(dir).model("Raspberry Pi 4 Model B Rev 1.5")
                .gpioChip(0, "platform/soc/fe200000.gpio", null, 512, 58).host();
        GpioLookupException e = assertThrows(GpioLookupException.class, () -> host.headerChip("auto"));
        assertEquals("no GPIO chip labelled pinctrl-bcm2711 or pinctrl-bcm2835 on this Pi 4 (Raspberry Pi 4 Model B "
                + "Rev 1.5): found gpiochip0 [label unknown]; set feedback.gpio.chip to the header's chip", e.getMessage());
    }

    @Test
    void thePi5BuzzerUsesTheRp1Pwm0NotTheFansPwm1() {
        // the fan's PWM1 can be the lower-numbered chip, with the same 4 channels: the old "lowest chip" rule took it
        GpioHost host = FakeBoard.pi5(dir)
                .pwmChip(0, "platform/axi/1000120000.pcie/1f0009c000.pwm", 4)
                .pwmChip(2, "platform/axi/1000120000.pcie/1f00098000.pwm", 4).host();
        assertEquals(2, host.defaultPwmChannel(), "GPIO 18 is channel 2 of the RP1's PWM0");
        assertEquals(OptionalInt.of(2), host.pwmChip(2));
        assertEquals("pwmchip2 (1f00098000.pwm, 4 channels)", host.describePwmChip(2));
    }

    @Test
    void thePi4BuzzerUsesItsPwmBlock() {
        GpioHost host = FakeBoard.pi4(dir).pwmChip(0, "platform/soc/fe20c000.pwm", 2).host();
        assertEquals(0, host.defaultPwmChannel(), "GPIO 18 is channel 0 of the Pi 4's PWM");
        assertEquals(OptionalInt.of(0), host.pwmChip(0));
        assertEquals(OptionalInt.empty(), host.pwmChip(2));
    }

    @Test
    void noPwmChipWithoutTheOverlay() {
        assertEquals(OptionalInt.empty(), FakeBoard.zero2w(dir).host().pwmChip(0));
    }

    @Test
    void aPassiveBuzzerIsResolvedFromTheBoard() {
        GpioHost host = FakeBoard.pi5(dir)
                .pwmChip(0, "platform/axi/1000120000.pcie/1f0009c000.pwm", 4)
                .pwmChip(2, "platform/axi/1000120000.pcie/1f00098000.pwm", 4).host();
        FeedbackSettings passive = new FeedbackSettings(FeedbackType.GPIO, LedType.PAIR, 17, 27, 23, BuzzerType.PASSIVE,
                22, FeedbackSettings.AUTO, FeedbackSettings.AUTO, Set.of(), FeedbackSettings.AUTO_CHIP);
        FeedbackSettings resolved = Feedbacks.resolve(passive, host);
        assertEquals(2, resolved.pwmChip());
        assertEquals(2, resolved.pwmChannel());
        FeedbackSettings configured = new FeedbackSettings(FeedbackType.GPIO, LedType.PAIR, 17, 27, 23,
                BuzzerType.PASSIVE, 22, 5, 1, Set.of(), FeedbackSettings.AUTO_CHIP);
        assertEquals(5, Feedbacks.resolve(configured, host).pwmChip(), "a configured chip wins");
    }

    @Test
    void aConfiguredChipPi4jWouldNotDriveIsRefused() {
        GpioHost host = FakeBoard.pi5(dir).host();
        FeedbackSettings other = new FeedbackSettings(FeedbackType.GPIO, LedType.PAIR, 17, 27, 23, BuzzerType.ACTIVE,
                22, FeedbackSettings.AUTO, FeedbackSettings.AUTO, Set.of(), "gpiochip12");
        GpioLookupException e = assertThrows(GpioLookupException.class, () -> Feedbacks.resolve(other, host));
        assertEquals("the header's chip is gpiochip12 [label unknown] but Pi4J's gpiod provider drives the first chip "
                + "whose label contains 'pinctrl' (gpiochip0 [pinctrl-rp1]); GPIO feedback works only where they agree",
                e.getMessage());
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
                22, FeedbackSettings.AUTO, FeedbackSettings.AUTO, Set.of(), FeedbackSettings.AUTO_CHIP);
        Feedback chosen = Feedbacks.create(passive, Ticker.SYSTEM, console);
        try {
            assertSame(console, chosen);
        } finally {
            chosen.close();
        }
    }
}
