package app.sevenstamp.autopilot.protocol.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Level;

class JournalConsoleWriterTest {
    @TempDir
    Path dir;

    @Test
    void levelsMapToSyslogPriorities() {
        assertEquals(3, JournalConsoleWriter.priority(Level.ERROR));
        assertEquals(4, JournalConsoleWriter.priority(Level.WARN));
        assertEquals(6, JournalConsoleWriter.priority(Level.INFO));
        assertEquals(7, JournalConsoleWriter.priority(Level.DEBUG));
        assertEquals(7, JournalConsoleWriter.priority(Level.TRACE));
    }

    @Test
    void everyLineOfAnEntryGetsThePrefix() {
        assertEquals("<6>gateway ready\n", JournalConsoleWriter.prefixed(Level.INFO, "gateway ready\n"));
        assertEquals("<3>cannot start\n<3>\tat a.B.c(B.java:1)\n",
                JournalConsoleWriter.prefixed(Level.ERROR, "cannot start\n\tat a.B.c(B.java:1)\n"));
        assertEquals("<4>no newline", JournalConsoleWriter.prefixed(Level.WARN, "no newline"));
    }

    @Test
    void journalOnlyWhenJournalStreamNamesOurStderr() throws IOException {
        Path stderr = Files.createFile(dir.resolve("stderr"));
        Map<String, Object> a = Files.readAttributes(stderr, "unix:dev,ino");
        String self = a.get("dev") + ":" + a.get("ino");
        assertTrue(JournalConsoleWriter.stderrIsJournal(self, stderr));
        assertFalse(JournalConsoleWriter.stderrIsJournal(a.get("dev") + ":1", stderr), "inherited by a child with another stderr");
        assertFalse(JournalConsoleWriter.stderrIsJournal(null, stderr));
        assertFalse(JournalConsoleWriter.stderrIsJournal("garbage", stderr));
    }
}
