#include "mobility/adapters/keying/ikebridge_channel.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace nemokey::mobility::adapters {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {
constexpr std::chrono::milliseconds first_retry{200};
constexpr std::chrono::milliseconds last_retry{5000};
constexpr size_t max_line = 1024 * 1024;

std::string request_line(const std::string& command, nlohmann::json arguments) {
    std::string line = control::encode(control::Request{command, std::move(arguments)});
    if (line.empty() || line.back() != '\n') line += '\n';
    return line;
}
}  // namespace

struct IkebridgeChannel::Impl : std::enable_shared_from_this<Impl> {
    asio::io_context& io;
    std::string path;
    Callbacks callbacks;
    asio::steady_timer retry_timer{io};
    std::chrono::milliseconds retry = first_retry;
    std::unique_ptr<stream::socket> events;
    asio::streambuf buffer{max_line};
    bool running = false;
    bool subscribed = false;
    bool answered = false;   // the subscription's own answer line came
    Counters counters;

    Impl(asio::io_context& i, std::string p, Callbacks c) : io(i), path(std::move(p)), callbacks(std::move(c)) {}

    void connect() {
        if (!running) return;
        events = std::make_unique<stream::socket>(io);
        answered = false;
        auto self = shared_from_this();
        events->async_connect(stream::endpoint(path), [self](const boost::system::error_code& ec) {
            if (!self->running) return;
            if (ec) return self->lost(false);
            auto line = std::make_shared<std::string>(request_line("events-subscribe", nlohmann::json::object()));
            asio::async_write(*self->events, asio::buffer(*line),
                              [self, line](const boost::system::error_code& ec, size_t) {
                                  if (ec) return self->lost(false);
                                  self->read();
                              });
        });
    }

    void read() {
        auto self = shared_from_this();
        asio::async_read_until(*events, buffer, '\n', [self](const boost::system::error_code& ec, size_t n) {
            if (!self->running || ec == asio::error::operation_aborted) return;
            if (ec) return self->lost(self->subscribed);
            std::string line(asio::buffers_begin(self->buffer.data()), asio::buffers_begin(self->buffer.data()) + n);
            self->buffer.consume(n);
            self->on_line(line);
            if (self->running && self->events) self->read();
        });
    }

    void on_line(const std::string& line) {
        if (!answered) {
            answered = true;
            auto a = control::parse_answer(line);
            auto* answer = std::get_if<control::Answer>(&a);
            if (!answer || answer->result != control::ResultCode::ok) {
                ++counters.bad_lines;
                return lost(false);
            }
            subscribed = true;
            ++counters.connects;
            retry = first_retry;
            // The whole state first: events from now on are on top of it.
            auto self = shared_from_this();
            send("status-get", nlohmann::json::object(), [self](std::optional<control::Answer> a) {
                if (!self->running || !self->subscribed) return;
                if (a && a->result == control::ResultCode::ok && a->arguments && self->callbacks.on_status)
                    self->callbacks.on_status(*a->arguments);
            });
            return;
        }
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            ++counters.bad_lines;
            return;
        }
        ++counters.events;
        if (callbacks.on_event) callbacks.on_event(j);
    }

    void lost(bool was_subscribed) {
        if (events) {
            boost::system::error_code ignored;
            events->close(ignored);
        }
        buffer.consume(buffer.size());
        subscribed = false;
        if (was_subscribed) {
            ++counters.losses;
            if (callbacks.on_lost) callbacks.on_lost();
        }
        if (!running) return;
        retry_timer.expires_after(retry);
        retry = std::min(retry * 2, last_retry);
        auto self = shared_from_this();
        retry_timer.async_wait([self](const boost::system::error_code& ec) {
            if (!ec) self->connect();
        });
    }

    void send(const std::string& command, nlohmann::json arguments,
              std::function<void(std::optional<control::Answer>)> done) {
        struct Call {
            stream::socket socket;
            std::string out;
            std::string in;
        };
        auto call = std::make_shared<Call>(Call{stream::socket(io), request_line(command, std::move(arguments)), {}});
        auto self = shared_from_this();
        auto fail = [self, done](const char*) {
            ++self->counters.requests_failed;
            done(std::nullopt);
        };
        call->socket.async_connect(stream::endpoint(path), [call, fail, done](const boost::system::error_code& ec) {
            if (ec) return fail("connect");
            asio::async_write(call->socket, asio::buffer(call->out), [call, fail, done](const boost::system::error_code& ec, size_t) {
                if (ec) return fail("write");
                boost::system::error_code ignored;
                call->socket.shutdown(stream::socket::shutdown_send, ignored);
                asio::async_read(call->socket, asio::dynamic_buffer(call->in, max_line),
                                 [call, fail, done](const boost::system::error_code& ec, size_t) {
                                     if (ec && ec != asio::error::eof) return fail("read");
                                     auto a = control::parse_answer(call->in);
                                     if (auto* answer = std::get_if<control::Answer>(&a)) return done(*answer);
                                     fail("parse");
                                 });
            });
        });
    }
};

IkebridgeChannel::IkebridgeChannel(asio::io_context& io, std::string socket_path, Callbacks callbacks)
    : impl_(std::make_shared<Impl>(io, std::move(socket_path), std::move(callbacks))) {}

IkebridgeChannel::~IkebridgeChannel() { stop(); }

void IkebridgeChannel::start() {
    if (impl_->running) return;
    impl_->running = true;
    impl_->connect();
}

void IkebridgeChannel::stop() {
    impl_->running = false;
    impl_->subscribed = false;
    impl_->retry_timer.cancel();
    if (impl_->events) {
        boost::system::error_code ignored;
        impl_->events->close(ignored);
    }
}

bool IkebridgeChannel::subscribed() const { return impl_->subscribed; }

void IkebridgeChannel::request(const std::string& command, nlohmann::json arguments,
                               std::function<void(std::optional<control::Answer>)> done) {
    impl_->send(command, std::move(arguments), std::move(done));
}

IkebridgeChannel::Counters IkebridgeChannel::counters() const { return impl_->counters; }

}  // namespace nemokey::mobility::adapters
