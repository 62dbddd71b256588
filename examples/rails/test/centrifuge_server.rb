require "json"
require "tmpdir"

# bin/centrifuge (or CENTRIFUGE_BIN) with examples/centrifuge.yaml.tmpl on a
# free port, for the tests: the same server the app talks to in production.
class CentrifugeServer
  EXAMPLES = File.expand_path("../..", __dir__)
  REPO = File.expand_path("..", EXAMPLES)

  attr_reader :url, :secret, :api_key

  def initialize
    @secret = "rails-test-secret-0123456789abcdef"
    @api_key = "rails-test-api-key-0123456789"
    bin = ENV["CENTRIFUGE_BIN"] || File.join(REPO, "bin", "centrifuge")
    raise "#{bin} does not exist: run `make build` (or set CENTRIFUGE_BIN)" unless File.file?(bin)

    @dir = Dir.mktmpdir("rails-blog-test-")
    values = {
      "PORT" => "0", "ORIGINS" => "[]", "DJANGO_URL" => "http://127.0.0.1:9",
      "DJANGO_SECRET" => "django-unused-secret-0123456789", "DJANGO_API_KEY" => "django-unused-api-key-0123456789",
      "PROXY_KEY" => "unused-proxy-key-0123456789", "CHECK_LIFETIME" => "1h", "CHECK_INTERVAL" => "10s",
      "RAILS_SECRET" => @secret, "RAILS_API_KEY" => @api_key,
    }
    config = File.read(File.join(EXAMPLES, "centrifuge.yaml.tmpl")).gsub(/\$\{(\w+)\}/) { values.fetch(Regexp.last_match(1)) }
    File.write(File.join(@dir, "config.yaml"), config)
    @log = File.join(@dir, "server.log")
    env = ENV.keys.select { |k| k.start_with?("CENTRIFUGE_") }.to_h { |k| [k, nil] } # the config file only
    @pid = Process.spawn(env, bin, "serve", "--config", File.join(@dir, "config.yaml"), %i[out err] => @log)
    deadline = Time.now + 10
    until (m = File.read(@log).match(/msg="?listening"?.*?addr="?127\.0\.0\.1:(\d+)/))
      raise "centrifuge did not start:\n#{File.read(@log).chars.last(4000).join}" if Time.now > deadline || Process.waitpid(@pid, Process::WNOHANG)

      sleep 0.05
    end
    @url = "http://127.0.0.1:#{m[1]}"
  end

  def stop
    Process.kill("TERM", @pid)
    Process.wait(@pid)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  ensure
    FileUtils.rm_rf(@dir)
  end
end
