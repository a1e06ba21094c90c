package app.sevenstamp.autopilot.protocol.card;

import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.support.Ed25519;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Checks card codes offline against a set of trusted public keys. Immutable and thread-safe.
 * Never throws for bad input: everything a scanner can produce maps to a {@link CardCheck}.
 */
public final class CardVerifier {
    /**
     * Key id to raw public key. Raw bytes, not the JDK's key objects: the check runs in Bouncy Castle, and parsing
     * a key into the JDK's classes loaded about 100 of them into every box at start (docs/perf/box-classes.md).
     */
    private final Map<String, byte[]> keys;

    /**
     * Checks signatures with {@link BcSignatureCheck}.
     *
     * @param rawKeys key id to the key's raw 32 bytes
     * @throws IllegalArgumentException naming a key of another length
     */
    public CardVerifier(Map<String, byte[]> rawKeys) {
        Map<String, byte[]> copy = new LinkedHashMap<>();
        rawKeys.forEach((id, raw) -> {
            try {
                copy.put(id, Ed25519.rawPublicKey(raw));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("key '" + id + "': " + e.getMessage(), e);
            }
        });
        this.keys = Map.copyOf(copy);
    }

    /**
     * Parses trusted keys written as {@code keyId:base64url-raw-public-key}, the form that
     * {@code autopilot-sink keys show} prints.
     *
     * @throws IllegalArgumentException naming the bad entry
     */
    public static CardVerifier parse(Iterable<String> entries) {
        Map<String, byte[]> keys = new LinkedHashMap<>();
        for (String entry : entries) {
            int colon = entry.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("'" + entry + "' is not of the form keyId:publicKey");
            }
            String keyId = entry.substring(0, colon).trim();
            if (!CardCode.KEY_ID.matcher(keyId).matches()) {
                throw new IllegalArgumentException("key id '" + keyId + "' must match " + CardCode.KEY_ID.pattern());
            }
            byte[] raw;
            try {
                raw = Base64.getUrlDecoder().decode(entry.substring(colon + 1).trim());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("public key of '" + keyId + "' is not base64url: " + e.getMessage(), e);
            }
            if (keys.put(keyId, Ed25519.rawPublicKey(raw)) != null) {
                throw new IllegalArgumentException("key id '" + keyId + "' is listed twice");
            }
        }
        return new CardVerifier(keys);
    }

    public static String formatPublicKey(String keyId, byte[] rawPublicKey) {
        return keyId + ":" + Base64.getUrlEncoder().withoutPadding().encodeToString(rawPublicKey);
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    public CardCheck verify(String text) {
        if (text == null || text.isEmpty()) {
            return invalid(RejectReason.MALFORMED, "empty scan");
        }
        if (text.length() > CardCode.MAX_LENGTH) {
            // scanner.maxLength bounds the line the box reads; a card code is shorter still
            return invalid(RejectReason.MALFORMED, "scan of " + text.length() + " characters is longer than a card code "
                    + "can be (at most " + CardCode.MAX_LENGTH + " characters)");
        }
        if (text.isBlank()) {
            return invalid(RejectReason.MALFORMED, "blank scan (" + text.length() + " spaces or tabs, nothing else)");
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == ' ') {
                return invalid(RejectReason.MALFORMED, "scan contains a space at " + i + "; card codes have none");
            }
            if (c < 0x21 || c > 0x7E) {
                return invalid(RejectReason.MALFORMED, "scan contains a control or non-ASCII character at "
                        + i + " (U+" + String.format("%04X", (int) c) + ")");
            }
        }
        String[] parts = text.split("\\.", -1);
        if (parts.length != 5 || !CardCode.MAGIC.equals(parts[0])) {
            return invalid(RejectReason.MALFORMED, "not a 7stamp card code (expected 7S1 and 5 dot-separated parts)");
        }
        CardCode card;
        try {
            card = new CardCode(parts[1], parts[2], parts[3]);
        } catch (IllegalArgumentException e) {
            return invalid(RejectReason.MALFORMED, e.getMessage());
        }
        byte[] signature;
        try {
            signature = Base64.getUrlDecoder().decode(parts[4]);
        } catch (IllegalArgumentException e) {
            return invalid(RejectReason.MALFORMED, "signature is not base64url");
        }
        if (signature.length != Ed25519.SIGNATURE_BYTES) {
            return invalid(RejectReason.MALFORMED, "signature has " + signature.length + " bytes, expected "
                    + Ed25519.SIGNATURE_BYTES);
        }
        // The decoder ignores the unused low bits of the last character and takes padding: without
        // this, 17 texts would be one card (the same signature bytes under different scans).
        if (!Base64.getUrlEncoder().withoutPadding().encodeToString(signature).equals(parts[4])) {
            return invalid(RejectReason.MALFORMED, "signature is not in canonical base64url (unpadded, unused bits zero)");
        }
        byte[] key = keys.get(card.keyId());
        if (key == null) {
            return invalid(RejectReason.UNKNOWN_KEY, "card " + card.cardId() + " is signed by unknown key '"
                    + card.keyId() + "' (trusted: " + String.join(", ", keys.keySet()) + ")");
        }
        if (!BcSignatureCheck.verify(key, card.signedPart(), signature)) {
            return invalid(RejectReason.BAD_SIGNATURE, "card " + card.cardId() + " of program " + card.programId()
                    + " has a bad signature for key '" + card.keyId() + "'");
        }
        return new CardCheck.Valid(card);
    }

    private static CardCheck invalid(RejectReason reason, String detail) {
        return new CardCheck.Invalid(reason, detail);
    }
}
