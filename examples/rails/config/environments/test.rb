Rails.application.configure do
  config.cache_classes = true
  config.eager_load = false
  config.consider_all_requests_local = true
  config.action_controller.allow_forgery_protection = false
  config.active_support.deprecation = :stderr
  FileUtils.mkdir_p(Rails.root.join("log"))
  config.logger = ActiveSupport::Logger.new(Rails.root.join("log", "test.log"))
end
