package app.sevenstamp.autopilot.sink.web;

import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/** Jetty's own errors (a request line or header it refuses) in the same problem format as the routes'. */
final class ProblemErrors implements Request.Handler {
    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        int status = request.getAttribute(ErrorHandler.ERROR_STATUS) instanceof Integer s ? s : response.getStatus();
        if (status < 400) {
            status = 500;
        }
        Object message = request.getAttribute(ErrorHandler.ERROR_MESSAGE);
        SecurityHeaders.apply(response.getHeaders());
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/problem+json");
        byte[] body = Exchange.problemBytes(status, message == null ? Problem.title(status) : message.toString());
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }
}
