require "json"
require "jwt"
require "net/http"
require "openssl"
require "uri"

# The Centrifuge server API over Net::HTTP (POST /api/<project>/<method> with
# X-API-Key), and connection tokens signed with ruby-jwt (HS256 with the
# project's secret).
class CentrifugeApi
  class Error < StandardError; end

  # No answer: connection refused or reset, DNS, timeout.
  class NetworkError < Error; end

  # The server answered an error: a method error (HTTP 200, code is a protocol
  # code) or an HTTP error (code is the status).
  class ApiError < Error
    attr_reader :code

    def initialize(code, message)
      @code = code
      super("error #{code}: #{message}")
    end
  end

  NETWORK_ERRORS = [SystemCallError, IOError, SocketError, Timeout::Error, OpenSSL::SSL::SSLError, EOFError].freeze

  def self.from_config(c = Rails.application.config.x.centrifuge)
    new(address: c.address, api_key: c.api_key, secret: c.secret, project: c.project,
        websocket_url: c.websocket_url, token_ttl: c.token_ttl)
  end

  attr_reader :websocket_url

  def initialize(address:, api_key:, secret:, project: nil, websocket_url: nil, token_ttl: 3600, timeout: 5)
    raise ArgumentError, "api_key is required" if api_key.to_s.empty?

    @base = URI(address.to_s.sub(%r{/*\z}, "/") + "api/" + (project ? "#{URI.encode_www_form_component(project)}/" : ""))
    raise ArgumentError, "address #{address.inspect} is not an http(s) URL" unless %w[http https].include?(@base.scheme)

    @api_key = api_key
    @secret = secret
    @token_ttl = token_ttl
    @timeout = timeout
    @websocket_url = websocket_url.presence || default_websocket_url(project)
  end

  def publish(channel, data)
    call("publish", { channel: channel, data: data })
  end

  # commands: [{publish: {channel:, data:}}, ...]; raises the first failed command's error.
  def batch(commands)
    replies = call("batch", { commands: commands })["replies"]
    failed = replies.find { |r| r["error"] }
    raise ApiError.new(failed["error"]["code"], failed["error"]["message"]) if failed

    replies
  end

  def history(channel, limit: -1)
    call("history", { channel: channel, limit: limit })
  end

  def call(method, params)
    uri = @base + method
    http = Net::HTTP.new(uri.host, uri.port)
    http.use_ssl = uri.scheme == "https"
    http.open_timeout = http.read_timeout = http.write_timeout = @timeout
    request = Net::HTTP::Post.new(uri.request_uri, "Content-Type" => "application/json", "X-API-Key" => @api_key)
    request.body = JSON.generate(params)
    response = begin
      http.start { |h| h.request(request) }
    rescue *NETWORK_ERRORS => e
      raise NetworkError, "#{method}: #{e.class}: #{e.message}"
    end
    body = begin
      JSON.parse(response.body.to_s)
    rescue JSON::ParserError
      nil
    end
    unless response.is_a?(Net::HTTPOK)
      raise ApiError.new(response.code.to_i, body&.dig("error", "message") || response.body.to_s[0, 200])
    end
    raise ApiError.new(0, "#{method}: not JSON") unless body.is_a?(Hash)
    raise ApiError.new(body["error"]["code"], body["error"]["message"]) if body["error"]

    body.fetch("result", body) # batch answers {"replies": [...]} unwrapped
  end

  # A connection token: sub is the user id ("" for anonymous visitors), info is
  # shown to other readers in presence and join/leave.
  def connection_token(user_id, info: nil)
    now = Time.now.to_i
    claims = { sub: user_id.to_s, iat: now, exp: now + @token_ttl }
    claims[:info] = info if info
    JWT.encode(claims, @secret, "HS256")
  end

  private

  def default_websocket_url(project)
    ws = @base.dup
    ws.scheme = @base.scheme == "https" ? "wss" : "ws"
    ws.path = @base.path.sub(%r{api/(#{Regexp.escape(project.to_s)}/)?\z}, "") + "connection/" +
              (project ? "#{URI.encode_www_form_component(project)}/" : "") + "websocket"
    ws.to_s
  end
end
