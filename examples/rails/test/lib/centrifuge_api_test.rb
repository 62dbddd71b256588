require "test_helper"

class CentrifugeApiTest < ActiveSupport::TestCase
  test "publish and history through the HTTP API" do
    channel = "comments:api-#{SecureRandom.hex(4)}"
    assert_equal 1, api.publish(channel, { "text" => "hi" })["offset"]
    assert_equal [{ "text" => "hi" }], history(channel)
  end

  test "errors are exceptions with the server's code" do
    wrong = CentrifugeApi.new(address: CENTRIFUGE.url, api_key: "wrong", secret: "s", project: "rails")
    err = assert_raises(CentrifugeApi::ApiError) { wrong.publish("comments:x", {}) }
    assert_equal 401, err.code
    err = assert_raises(CentrifugeApi::ApiError) { api.publish("nope:x", {}) }
    assert_equal 102, err.code # unknown namespace
    port = TCPServer.new("127.0.0.1", 0).then { |s| s.addr[1].tap { s.close } }
    down = CentrifugeApi.new(address: "http://127.0.0.1:#{port}", api_key: "k", secret: "s")
    assert_raises(CentrifugeApi::NetworkError) { down.publish("x", {}) }
    assert_raises(ArgumentError) { CentrifugeApi.new(address: "ftp://x", api_key: "k", secret: "s") }
  end

  test "a batch reports the first failed command" do
    err = assert_raises(CentrifugeApi::ApiError) do
      api.batch([{ publish: { channel: "comments:ok", data: {} } }, { publish: { channel: "nope:x", data: {} } }])
    end
    assert_equal 102, err.code
  end

  test "websocket URL derived from the address and project" do
    c = CentrifugeApi.new(address: "https://rt.example.com/prefix/", api_key: "k", secret: "s", project: "rails")
    assert_equal "wss://rt.example.com/prefix/connection/rails/websocket", c.websocket_url
    c = CentrifugeApi.new(address: "http://localhost:8000", api_key: "k", secret: "s")
    assert_equal "ws://localhost:8000/connection/websocket", c.websocket_url
  end
end
