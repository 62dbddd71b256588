ENV["RAILS_ENV"] = "test"
require "fileutils"
require_relative "centrifuge_server"

# The real server, started before the app reads its settings.
CENTRIFUGE = CentrifugeServer.new
ENV["CENTRIFUGE_ADDRESS"] = CENTRIFUGE.url
ENV["CENTRIFUGE_API_KEY"] = CENTRIFUGE.api_key
ENV["CENTRIFUGE_SECRET"] = CENTRIFUGE.secret
ENV["CENTRIFUGE_PROJECT"] = "rails"
Minitest.after_run { CENTRIFUGE.stop } if defined?(Minitest)

require_relative "../config/environment"
require "rails/test_help"

ActiveRecord::Schema.verbose = false
load Rails.root.join("db", "schema.rb")

class ActiveSupport::TestCase
  def api
    CentrifugeApi.from_config
  end

  # The data of every publication a channel's history holds.
  def history(channel)
    api.history(channel)["publications"].to_a.map { |p| p["data"] }
  end
end
