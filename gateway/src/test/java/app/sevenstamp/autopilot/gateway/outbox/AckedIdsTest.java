package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The replay's set of acknowledged ids is exact: an id is found if and only if that very string was added. A
 * false "found" would leave out of H2 a stamp the sink never had.
 */
class AckedIdsTest {
    private static final String HEX = "0123456789abcdef";

    @Test
    void findsTheIdsAddedAndNoOther() {
        AckedIds set = new AckedIds();
        String a = EventIds.next(1_764_835_200_000L);
        String b = UUID.randomUUID().toString();
        assertFalse(set.contains(a));
        set.add(a);
        set.add(b);
        set.add(a);
        assertTrue(set.contains(a));
        assertTrue(set.contains(b));
        assertFalse(set.contains(EventIds.next(1_764_835_200_000L)));
        assertEquals(2, set.size());
    }

    @Test
    void otherSpellingsOfTheSameUuidAreOtherIds() {
        AckedIds set = new AckedIds();
        String id = "0192f3a4-5b6c-7d8e-9fab-cdef01234567";
        String upper = id.toUpperCase(Locale.ROOT);
        assertEquals(UUID.fromString(id), UUID.fromString(upper), "the same bits, or this proves nothing");
        set.add(id);
        assertFalse(set.contains(upper));
        set.add(upper);
        assertTrue(set.contains(upper));
        assertTrue(set.contains(id));
        assertEquals(2, set.size());

        // UUID.fromString reads short groups as the same bits as the canonical form
        String shortForm = "1-1-1-1-1";
        String canonical = "00000001-0001-0001-0001-000000000001";
        assertEquals(UUID.fromString(shortForm), UUID.fromString(canonical), "the same bits, or this proves nothing");
        AckedIds onlyShort = new AckedIds();
        onlyShort.add(shortForm);
        assertTrue(onlyShort.contains(shortForm));
        assertFalse(onlyShort.contains(canonical));
        AckedIds onlyCanonical = new AckedIds();
        onlyCanonical.add(canonical);
        assertTrue(onlyCanonical.contains(canonical));
        assertFalse(onlyCanonical.contains(shortForm));
        // as long as the canonical form, but not it: a group one digit longer and the next one shorter
        String shifted = "000000001-001-0001-0001-000000000001";
        assertEquals(36, shifted.length());
        assertFalse(onlyCanonical.contains(shifted));
        onlyShort.add(shifted);
        assertTrue(onlyShort.contains(shifted));
        assertFalse(onlyShort.contains(canonical));
    }

    @Test
    void theNilUuidIsAnIdLikeAnyOther() {
        String nil = new UUID(0, 0).toString();
        AckedIds set = new AckedIds();
        set.add("00000000-0000-0000-0000-000000000001");
        assertFalse(set.contains(nil), "an empty slot is not the nil id");
        set.add(nil);
        assertTrue(set.contains(nil));
        assertTrue(set.contains("00000000-0000-0000-0000-000000000001"));
        assertEquals(2, set.size());
    }

    @Test
    void idsThatAreNoUuidAreKeptAsStrings() {
        AckedIds set = new AckedIds();
        List<String> ids = List.of("", "e-1", "event-42", "stamp", "0192f3a4-5b6c-7d8e-9fab-cdef0123456g",
                "0192f3a4_5b6c-7d8e-9fab-cdef01234567", "0192f3a45b6c-7d8e-9fab-cdef01234567-",
                "0192f3a4-5b6c-7d8e-9fab-cdef012345678", "{0192f3a4-5b6c-7d8e-9fab-cdef01234567}",
                "0192f3a4-5b6c-7d8e-9fab-cdef0123456\u0661", "0192f3a4-5b6c-7d8e-9fab-cdef0123456\u00b1",
                "0192f3a4-5b6c-7d8e-9fab-cdef0123456\u00e1", "0192f3a4-5b6c-7d8e-9fab-cdef0123456\u0131");
        for (String id : ids) {
            assertFalse(set.contains(id), id);
            set.add(id);
            assertTrue(set.contains(id), id);
        }
        assertEquals(ids.size(), set.size());
        assertFalse(set.contains("0192f3a4-5b6c-7d8e-9fab-cdef01234567"));
        assertFalse(set.contains("e-2"));
        assertFalse(set.contains("0192f3a4-5b6c-7d8e-9fab-cdef01234561"), "\u0661 and \u00b1 are not the digit 1 here");
        assertFalse(set.contains("0192f3a4-5b6c-7d8e-9fab-cdef0123456a"), "\u00e1 is not the digit a");
    }

    /** Every digit counts: an id one digit away from one added, at any place and to any other digit, is not found. */
    @Test
    void anIdOneDigitAwayIsNotFound() {
        Random random = new Random(7);
        for (int round = 0; round < 20; round++) {
            String id = new UUID(random.nextLong(), random.nextLong()).toString();
            AckedIds set = new AckedIds();
            set.add(id);
            for (int i = 0; i < id.length(); i++) {
                if (id.charAt(i) == '-') {
                    continue;
                }
                for (char digit : HEX.toCharArray()) {
                    if (digit != id.charAt(i)) {
                        String other = id.substring(0, i) + digit + id.substring(i + 1);
                        assertFalse(set.contains(other), other + " after " + id);
                    }
                }
            }
            assertTrue(set.contains(id));
        }
    }

    /** 200,000 ids (many resizes): every one found after each doubling, 200,000 others not. */
    @Test
    void holdsTwoHundredThousandIdsExactly() {
        Random random = new Random(20261204);
        int n = 200_000;
        List<String> added = new ArrayList<>(n);
        AckedIds set = new AckedIds();
        for (int i = 0; i < n; i++) {
            String id = i % 2 == 0 ? new UUID(random.nextLong(), random.nextLong()).toString()
                    : EventIds.next(1_764_835_200_000L + i / 1000); // a burst: 1,000 ids a millisecond
            set.add(id);
            added.add(id);
            if (Integer.bitCount(i + 1) == 1) {
                for (int k = 0; k <= i; k++) {
                    assertTrue(set.contains(added.get(k)), added.get(k));
                }
            }
        }
        assertEquals(n, set.size());
        for (String id : added) {
            assertTrue(set.contains(id), id);
        }
        Set<String> known = new HashSet<>(added);
        int asked = 0;
        while (asked < n) {
            String other = asked % 2 == 0 ? new UUID(random.nextLong(), random.nextLong()).toString()
                    : EventIds.next(1_764_835_200_000L + asked / 1000);
            if (!known.contains(other)) {
                assertFalse(set.contains(other), other);
                asked++;
            }
        }
    }

    /** The same answers as a HashSet of the strings, for a mix of every kind of id and of ids a step away. */
    @Test
    void answersAsAHashSetOfTheStringsDoes() {
        Random random = new Random(42);
        AckedIds set = new AckedIds();
        Set<String> expected = new HashSet<>();
        for (int i = 0; i < 50_000; i++) {
            String id = anyId(random);
            if (random.nextBoolean()) {
                set.add(id);
                expected.add(id);
            }
            assertEquals(expected.contains(id), set.contains(id), id);
        }
        assertEquals(expected.size(), set.size());
        for (String id : expected) {
            assertTrue(set.contains(id), id);
        }
    }

    /**
     * The replay reads a waiting stamp's id as bits straight from its redo record ({@code writeUTF}'s modified UTF-8,
     * here at an offset in a larger buffer): the same answer and the same bits as from the string, for every kind of
     * id and for ids with a character past ASCII where a digit would be (two or three bytes in the record, a
     * different length; the NUL character too, which modified UTF-8 writes as two bytes).
     */
    @Test
    void anIdReadFromItsRecordBytesParsesAsItsString() throws Exception {
        Random random = new Random(7);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            ids.add(anyId(random));
        }
        String canonical = UUID.randomUUID().toString();
        for (char c : new char[] {'\u00b1', '\u0000', '\u0661', '\u00e9'}) {
            ids.add(canonical.substring(0, 35) + c);
            ids.add(c + canonical.substring(1));
        }
        AckedIds set = new AckedIds();
        for (int k = 0; k < ids.size(); k++) {
            String id = ids.get(k);
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
                out.write(new byte[k % 5]); // the id's place in the record varies
                out.writeUTF(id);
                out.write(new byte[3]);
            }
            byte[] record = bytes.toByteArray();
            int at = k % 5 + 2;
            int length = (record[at - 2] & 0xff) << 8 | (record[at - 1] & 0xff);
            long[] fromString = new long[2];
            long[] fromBytes = new long[2];
            boolean parsed = AckedIds.parse(id, fromString);
            assertEquals(parsed, AckedIds.parse(record, at, length, fromBytes), id);
            if (parsed) {
                assertEquals(fromString[0], fromBytes[0], id);
                assertEquals(fromString[1], fromBytes[1], id);
                assertEquals(set.contains(id), set.containsCanonical(fromBytes[0], fromBytes[1]), id);
            }
            if (k % 2 == 0) {
                set.add(id);
                assertTrue(!parsed || set.containsCanonical(fromBytes[0], fromBytes[1]), id);
            }
        }
    }

    private static String anyId(Random random) {
        UUID uuid = new UUID(random.nextInt(4) == 0 ? random.nextInt(3) : random.nextLong(),
                random.nextInt(4) == 0 ? random.nextInt(3) : random.nextLong());
        String canonical = uuid.toString();
        return switch (random.nextInt(6)) {
            case 0, 1 -> canonical;
            case 2 -> canonical.toUpperCase(Locale.ROOT);
            case 3 -> Long.toHexString(uuid.getMostSignificantBits() >>> 32) + "-1-1-1-" + random.nextInt(3);
            case 4 -> "e-" + random.nextInt(1000);
            default -> canonical.substring(0, 35) + "g";
        };
    }
}
