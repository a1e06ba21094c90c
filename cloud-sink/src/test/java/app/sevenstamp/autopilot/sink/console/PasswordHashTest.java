package app.sevenstamp.autopilot.sink.console;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class PasswordHashTest {
    private final SecureRandom random = new SecureRandom();

    @Test
    void aHashVerifiesItsPasswordOnlyAndCarriesItsCost() {
        String h = PasswordHash.hash("correct horse battery staple", random);
        for (int i = 0; i < 3; i++) { // the first runs include class loading and the JIT
            long t0 = System.nanoTime();
            PasswordHash.verify("correct horse battery staple", h);
            System.out.println("Argon2id m=19456 KiB t=2 p=1: one verify in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        }
        assertTrue(h.startsWith("$argon2id$v=19$m=19456,t=2,p=1$"), h);
        assertTrue(PasswordHash.verify("correct horse battery staple", h));
        assertFalse(PasswordHash.verify("correct horse battery stapler", h));
        assertNotEquals(h, PasswordHash.hash("correct horse battery staple", random), "a new salt each time");
    }

    @Test
    void unknownNamesAndForeignHashesNeverVerify() {
        assertFalse(PasswordHash.verify("decoy password that matches nothing", null), "the decoy of unknown names");
        assertFalse(PasswordHash.verify("x", "plain text"));
        assertFalse(PasswordHash.verify("x", "$argon2id$v=19$m=99999999,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$"
                + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), "a cost this code never writes is not run");
    }
}
