package app.sevenstamp.autopilot.sink.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.card.CardCheck;
import app.sevenstamp.autopilot.protocol.card.CardCode;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import com.google.zxing.BinaryBitmap;
import com.google.zxing.DecodeHintType;
import com.google.zxing.LuminanceSource;
import com.google.zxing.common.HybridBinarizer;
import com.google.zxing.qrcode.QRCodeReader;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SinkCliTest {
    @TempDir
    Path dir;
    private Path config;

    /** What one run printed and returned. */
    private record Run(int status, String out, String err) {
        List<String> lines() {
            return out.lines().filter(l -> !l.isBlank()).toList();
        }
    }

    @BeforeEach
    void writeConfig() throws Exception {
        config = dir.resolve("sink.properties");
        Files.writeString(config, String.join("\n",
                "store.dir=" + dir.resolve("data"),
                "program.coffee.stampsRequired=10",
                "program.coffee.name=Coffee card",
                "program.bakery-7.stampsRequired=5",
                ""), StandardCharsets.UTF_8);
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new SinkCli(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void issuedCodesVerifyWithTheKeyThatKeysShowPrintsAndTheQrCodeHoldsTheFirst() throws Exception {
        Path png = dir.resolve("qr/card.png");
        Run issue = run("cards", "issue", "--program", "coffee", "--count", "3", "--qr", png.toString(), "--config", config.toString());
        assertEquals(0, issue.status(), issue.err());
        List<String> codes = issue.lines();
        assertEquals(3, codes.size(), issue.out());
        assertEquals(3, new HashSet<>(codes).size(), "every card is new");

        Run keys = run("keys", "show", "--config", config.toString());
        assertEquals(0, keys.status(), keys.err());
        assertEquals(1, keys.lines().size());
        CardVerifier verifier = CardVerifier.parse(keys.lines());
        for (String code : codes) {
            CardCode card = assertInstanceOf(CardCheck.Valid.class, verifier.verify(code), code).card();
            assertEquals("coffee", card.programId());
            assertEquals("k1", card.keyId());
        }
        assertEquals(codes.get(0), decodeQr(png));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("data/signing.key"))));
    }

    @Test
    void keysShowNeedsNoProgramAndPrintsTheSameKeyEveryTime() throws Exception {
        Path bare = dir.resolve("bare.properties");
        Files.writeString(bare, "keys.file=" + dir.resolve("k/signing.key") + "\nkeys.id=k2\n", StandardCharsets.UTF_8);
        Run first = run("keys", "show", "--config", bare.toString());
        Run second = run("keys", "show", "--config=" + bare);
        assertEquals(0, first.status(), first.err());
        assertTrue(first.out().startsWith("k2:"), first.out());
        assertEquals(first.out(), second.out());
    }

    @Test
    void programsListPrintsIdGoalAndName() {
        Run r = run("programs", "list", "--config", config.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(List.of("bakery-7\t5\tbakery-7", "coffee\t10\tCoffee card"), r.lines());
    }

    @Test
    void anUnknownProgramExitsWithTwoAndNamesTheConfiguredOnes() {
        Run r = run("cards", "issue", "--program", "tea", "--config", config.toString());
        assertEquals(2, r.status());
        assertEquals("", r.out());
        assertEquals("autopilot-sink: unknown program 'tea'; configured programs: bakery-7, coffee\n", r.err());
    }

    @Test
    void badUsageExitsWith64AndPrintsTheUsage() {
        for (String[] args : List.of(new String[] {}, new String[] {"launch"}, new String[] {"serve"},
                new String[] {"cards", "issue", "--config", config.toString()},
                new String[] {"cards", "issue", "--program", "coffee", "--count", "0", "--config", config.toString()},
                new String[] {"cards", "print", "--config", config.toString()},
                new String[] {"keys", "show", "--verbose", "yes", "--config", config.toString()})) {
            Run r = run(args);
            assertEquals(64, r.status(), String.join(" ", args));
            assertTrue(r.err().contains("usage: autopilot-sink"), r.err());
            assertEquals("", r.out());
        }
        assertTrue(run("cards", "issue", "--program", "coffee", "--count", "0", "--config", config.toString()).err()
                .startsWith("autopilot-sink: --count: '0' is not a whole number in 1..1000\n"));
        assertTrue(run("serve").err().startsWith("autopilot-sink: --config FILE is required\n"));
    }

    @Test
    void aConfigErrorExitsWith78AndOneLineWithoutAStackTrace() throws Exception {
        Files.writeString(config, "program.coffee.stampsRequired=0\n", StandardCharsets.UTF_8);
        Run r = run("cards", "issue", "--program", "coffee", "--config", config.toString());
        assertEquals(78, r.status());
        assertEquals("autopilot-sink: configuration error: program.coffee.stampsRequired: '0' is not allowed; "
                + "allowed: a whole number in 1..100\n", r.err());

        Run missing = run("serve", "--config", dir.resolve("nope.properties").toString());
        assertEquals(78, missing.status());
        assertEquals("autopilot-sink: configuration error: config file " + dir.resolve("nope.properties")
                + " does not exist\n", missing.err());
        assertFalse(missing.err().contains("\tat "));
    }

    @Test
    void helpGoesToStdoutWithStatusZero() {
        Run r = run("--help");
        assertEquals(0, r.status());
        assertTrue(r.out().startsWith("usage: autopilot-sink"), r.out());
    }

    private static String decodeQr(Path png) throws Exception {
        BufferedImage image = ImageIO.read(png.toFile());
        BinaryBitmap bitmap = new BinaryBitmap(new HybridBinarizer(new ImageLuminance(image)));
        return new QRCodeReader().decode(bitmap, Map.of(DecodeHintType.PURE_BARCODE, Boolean.TRUE)).getText();
    }

    /** zxing core reads luminance, not images (the javase module has this class; core does not). */
    private static final class ImageLuminance extends LuminanceSource {
        private final byte[] luminance;

        ImageLuminance(BufferedImage image) {
            super(image.getWidth(), image.getHeight());
            luminance = new byte[image.getWidth() * image.getHeight()];
            for (int y = 0; y < image.getHeight(); y++) {
                for (int x = 0; x < image.getWidth(); x++) {
                    int rgb = image.getRGB(x, y);
                    int gray = (((rgb >> 16) & 0xFF) + ((rgb >> 8) & 0xFF) + (rgb & 0xFF)) / 3;
                    luminance[y * image.getWidth() + x] = (byte) gray;
                }
            }
        }

        @Override
        public byte[] getRow(int y, byte[] row) {
            byte[] out = row == null || row.length < getWidth() ? new byte[getWidth()] : row;
            System.arraycopy(luminance, y * getWidth(), out, 0, getWidth());
            return out;
        }

        @Override
        public byte[] getMatrix() {
            return luminance;
        }
    }
}
