package app.sevenstamp.autopilot.protocol.support;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log reads back every whole record, whatever their sizes and wherever its read window ends, and ends
 * at the first record that is short, damaged or zero-filled: open cuts the file there, and appends follow
 * the last whole record. The records here cross many of the 64 KB windows the reader fills at a time, and
 * two are longer than a window.
 */
class RedoLogTest {
    private static final int HEADER = 8;

    @TempDir
    Path dir;

    /**
     * Records of 1 byte to 3 KB and one longer than a read window (100 KB); with {@code largest}, one of the
     * largest size allowed too.
     */
    private static List<byte[]> records(boolean largest) {
        Random random = new Random(42);
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            int length = i == 150 ? 100 * 1024 : i == 300 && largest ? RedoLog.MAX_RECORD_BYTES : 1 + random.nextInt(3 * 1024);
            byte[] r = new byte[length];
            random.nextBytes(r);
            out.add(r);
        }
        return out;
    }

    /** Where each record ends in the file: element k is the end of record k (its header and bytes). */
    private static long[] ends(List<byte[]> records) {
        long[] ends = new long[records.size()];
        long pos = 0;
        for (int k = 0; k < records.size(); k++) {
            pos += HEADER + records.get(k).length;
            ends[k] = pos;
        }
        return ends;
    }

    private Path written(List<byte[]> records) throws Exception {
        Path file = dir.resolve("whole");
        try (RedoLog log = RedoLog.open(file, RedoLog.FILES)) {
            for (int from = 0; from < records.size(); from += 37) {
                log.append(records.subList(from, Math.min(records.size(), from + 37)), false);
            }
        }
        return file;
    }

    private static List<byte[]> read(RedoLog log) throws Exception {
        List<byte[]> out = new ArrayList<>();
        log.<RuntimeException>read(out::add);
        return out;
    }

    private static void assertRecords(List<byte[]> expected, List<byte[]> actual, String what) {
        assertEquals(expected.size(), actual.size(), what + ": records read");
        for (int k = 0; k < expected.size(); k++) {
            assertArrayEquals(expected.get(k), actual.get(k), what + ": record " + k);
        }
    }

    @Test
    void everyWholeRecordReadsBackAcrossReadWindows() throws Exception {
        List<byte[]> records = records(true);
        Path file = written(records);
        try (RedoLog log = RedoLog.open(file, RedoLog.FILES)) {
            assertEquals(0, log.cutAtOpen());
            assertRecords(records, read(log), "the whole log");
            assertRecords(records, readPrefix(log.prefix()), "its prefix");
            List<byte[]> viewed = new ArrayList<>();
            log.prefix().<RuntimeException>readViews((buffer, at, length) -> viewed.add(Arrays.copyOfRange(buffer, at, at + length)));
            assertRecords(records, viewed, "its prefix as views");
        }
        assertEquals(ends(records)[records.size() - 1], Files.size(file));
    }

    /** From any record's start, across read windows: that record and every later one, and nothing before it. */
    @Test
    void aReadFromARecordsStartGivesItAndEveryLaterOne() throws Exception {
        List<byte[]> records = records(true);
        long[] ends = ends(records);
        try (RedoLog log = RedoLog.open(written(records), RedoLog.FILES)) {
            for (int k : new int[] {0, 1, 149, 150, records.size() - 1, records.size()}) {
                long from = k == 0 ? 0 : ends[k - 1];
                List<byte[]> out = new ArrayList<>();
                log.<RuntimeException>readFrom(from, out::add);
                assertRecords(records.subList(k, records.size()), out, "from record " + k + " (byte " + from + ")");
            }
            assertThrows(IllegalArgumentException.class, () -> log.readFrom(log.bytes() + 1, r -> { }));
        }
    }

    /**
     * Cut points around the end of every record (the last bytes of its data, its end, its next record's header)
     * and a spread of others: the log holds exactly the records that end at or before the cut, the file is cut
     * back to the last of them, and a record appended then reads back after them.
     */
    @Test
    void aTornTailEndsTheLogAtTheLastWholeRecord() throws Exception {
        List<byte[]> records = records(false);
        long[] ends = ends(records);
        byte[] whole = Files.readAllBytes(written(records));
        TreeSet<Long> cuts = new TreeSet<>();
        for (int k = 0; k < records.size(); k += 23) {
            for (long d = -3; d <= HEADER + 2; d++) {
                cuts.add(Math.max(0, Math.min(whole.length, ends[k] + d)));
            }
        }
        for (int k : new int[] {148, 149, 150, 151, records.size() - 1}) {
            for (long d = -3; d <= HEADER + 2; d++) {
                cuts.add(Math.max(0, Math.min(whole.length, ends[k] + d)));
            }
        }
        for (long c = 0; c < whole.length; c += 49_999) {
            cuts.add(c);
        }
        byte[] extra = {1, 2, 3};
        for (long cut : cuts) {
            Path file = dir.resolve("cut-" + cut);
            Files.write(file, Arrays.copyOf(whole, (int) cut));
            int kept = wholeBefore(ends, cut);
            long valid = kept == 0 ? 0 : ends[kept - 1];
            try (RedoLog log = RedoLog.open(file, RedoLog.FILES)) {
                assertEquals(cut - valid, log.cutAtOpen(), "cut at " + cut);
                assertEquals(valid, Files.size(file), "cut at " + cut + ": the file is cut back");
                assertRecords(records.subList(0, kept), read(log), "cut at " + cut);
                log.append(List.of(extra), true);
            }
            try (RedoLog log = RedoLog.open(file, RedoLog.FILES)) {
                List<byte[]> expected = new ArrayList<>(records.subList(0, kept));
                expected.add(extra);
                assertRecords(expected, read(log), "cut at " + cut + ", then appended");
            }
            Files.delete(file);
        }
    }

    /** A byte changed in a record's length, checksum or data ends the log before that record. */
    @Test
    void aDamagedRecordEndsTheLogBeforeIt() throws Exception {
        List<byte[]> records = records(true);
        long[] ends = ends(records);
        byte[] whole = Files.readAllBytes(written(records));
        for (int k : new int[] {0, 1, 149, 150, 151, 299, 300, 399}) {
            long start = k == 0 ? 0 : ends[k - 1];
            for (long at : new long[] {start, start + 5, start + HEADER, ends[k] - 1}) {
                byte[] damaged = whole.clone();
                damaged[(int) at] ^= 0x40;
                Path file = dir.resolve("damaged-" + at);
                Files.write(file, damaged);
                try (RedoLog log = RedoLog.open(file, RedoLog.FILES)) {
                    assertRecords(records.subList(0, k), read(log), "byte " + at + " of record " + k + " changed");
                    assertEquals(start, Files.size(file));
                }
                Files.delete(file);
            }
        }
    }

    /** A file extended but not written before a power cut: zeros after the last record. */
    @Test
    void aZeroFilledTailIsCut() throws Exception {
        List<byte[]> records = records(false);
        Path file = written(records);
        long size = Files.size(file);
        Files.write(file, new byte[200 * 1024], java.nio.file.StandardOpenOption.APPEND);
        try (RedoLog log = RedoLog.open(file, RedoLog.FILES)) {
            assertEquals(200 * 1024, log.cutAtOpen());
            assertRecords(records, read(log), "after zeros");
        }
        assertEquals(size, Files.size(file));
    }

    private static int wholeBefore(long[] ends, long cut) {
        int n = 0;
        while (n < ends.length && ends[n] <= cut) {
            n++;
        }
        return n;
    }

    private static List<byte[]> readPrefix(RedoLog.Prefix prefix) throws Exception {
        List<byte[]> out = new ArrayList<>();
        prefix.<RuntimeException>read(out::add);
        return out;
    }
}
