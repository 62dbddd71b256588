require_relative "boot"

require "rails"
require "active_record/railtie"
require "action_controller/railtie"
require "action_view/railtie"
require "rails/test_unit/railtie"
require "jwt"
require "sqlite3"

module Blog
  class Application < Rails::Application
    config.load_defaults 6.1
    config.autoload_paths << root.join("lib")
    config.eager_load_paths << root.join("lib")
    config.secret_key_base = ENV.fetch("SECRET_KEY_BASE", "blog-example-not-secret-change-me-in-production-0123456789")
    config.hosts.clear # 127.0.0.1 and localhost on any port
    config.logger = ActiveSupport::Logger.new($stdout)
    config.log_level = ENV.fetch("RAILS_LOG_LEVEL", "info")
    config.action_controller.default_protect_from_forgery = true
    config.generators.system_tests = nil

    # Centrifuge, project "rails" (examples/config.sh writes the secrets).
    config.x.centrifuge.address = ENV.fetch("CENTRIFUGE_ADDRESS", "http://127.0.0.1:8000")
    config.x.centrifuge.project = ENV.fetch("CENTRIFUGE_PROJECT", "rails")
    config.x.centrifuge.api_key = ENV["CENTRIFUGE_API_KEY"]
    config.x.centrifuge.secret = ENV["CENTRIFUGE_SECRET"]
    config.x.centrifuge.websocket_url = ENV["CENTRIFUGE_WEBSOCKET_URL"]
    config.x.centrifuge.token_ttl = 3600
  end
end
