package app.sevenstamp.autopilot.sink.join;

import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import java.security.SecureRandom;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class QrImageTest {
    @Test
    void everyCardCodesQrPngReadsBack() throws Exception {
        CardSigner signer = new CardSigner("k1", Base64.getUrlDecoder().decode(Vectors.json("card-codes.json").get("seed").asText()));
        SecureRandom random = new SecureRandom();
        for (int i = 0; i < 300; i++) {
            String code = signer.sign(i % 2 == 0 ? "coffee" : "bakery-7-longer-name", CardSigner.newCardId(random));
            assertEquals(code, QrDecode.text(QrImage.png(code, 8)), code);
        }
    }
}
