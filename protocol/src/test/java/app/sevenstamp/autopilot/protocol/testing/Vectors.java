package app.sevenstamp.autopilot.protocol.testing;

import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The golden vectors of the wire contract ({@code src/test/resources/vectors}), shipped in the
 * protocol test-jar so that the gateway's and the sink's tests read the very same files.
 */
public final class Vectors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Vectors() {
    }

    public static byte[] bytes(String name) {
        try (InputStream in = Vectors.class.getResourceAsStream("/vectors/" + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no golden vector named " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static JsonNode json(String name) {
        try {
            return JSON.readTree(bytes(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The test signing key of card-codes.json. */
    public static CardSigner signer() {
        JsonNode v = json("card-codes.json");
        return new CardSigner(v.get("keyId").asText(), Base64.getUrlDecoder().decode(v.get("seed").asText()));
    }

    /** The trusted-key entry matching {@link #signer()}, as a gateway config holds it. */
    public static String trustedKey() {
        return json("card-codes.json").get("trusted").asText();
    }

    public static CardVerifier verifier() {
        return CardVerifier.parse(List.of(trustedKey()));
    }

    public record CardCase(String name, String text, String expect, String programId, String cardId) {
    }

    public static List<CardCase> cardCases() {
        List<CardCase> out = new ArrayList<>();
        for (JsonNode c : json("card-codes.json").get("cases")) {
            out.add(new CardCase(c.get("name").asText(), c.get("text").asText(), c.get("expect").asText(),
                    c.path("programId").asText(null), c.path("cardId").asText(null)));
        }
        return out;
    }

    /** The text of a case by name. */
    public static String cardText(String name) {
        return cardCases().stream().filter(c -> c.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no card case " + name)).text();
    }

    public record MalformedCase(String name, byte[] payload, String kind) {
    }

    public static List<MalformedCase> malformedCases() {
        List<MalformedCase> out = new ArrayList<>();
        for (JsonNode c : json("malformed.json").get("cases")) {
            out.add(new MalformedCase(c.get("name").asText(),
                    c.get("payload").asText().getBytes(java.nio.charset.StandardCharsets.UTF_8), c.get("kind").asText()));
        }
        return out;
    }
}
