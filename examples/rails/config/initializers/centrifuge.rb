# Fail at boot, with the names, when the Centrifuge settings are missing.
centrifuge = Rails.application.config.x.centrifuge
missing = { "CENTRIFUGE_API_KEY" => centrifuge.api_key, "CENTRIFUGE_SECRET" => centrifuge.secret }
          .select { |_, v| v.nil? || v.empty? }.keys
unless missing.empty? || ENV["BLOG_SKIP_CENTRIFUGE_CHECK"] == "1"
  raise "examples/rails: set #{missing.join(' and ')} (examples/config.sh writes them to examples/secrets.local.env; " \
        "`make example-rails` loads it)"
end
