# Serves sdk-js's browser bundle (`make sdk-js`) and the files shared with
# examples/django (../shared): fixed paths, no user input reaches the file system
# beyond a name checked by the route and the list below.
class AssetsController < ActionController::Base
  # Public static files: the cross-origin <script> check protects data, not these.
  skip_forgery_protection
  REPO = Rails.root.join("..", "..").expand_path
  SHARED = { "live.js" => "text/javascript", "style.css" => "text/css" }.freeze

  def sdk_js
    path = REPO.join("sdk-js", "dist", "centrifuge.js")
    return head(:not_found) unless path.file?

    send_file path, type: "text/javascript", disposition: "inline"
  end

  def shared
    type = SHARED[params[:name]]
    return head(:not_found) unless type

    send_file REPO.join("examples", "shared", params[:name]), type: type, disposition: "inline"
  end
end
