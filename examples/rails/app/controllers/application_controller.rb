class ApplicationController < ActionController::Base
  protect_from_forgery with: :exception
  helper_method :current_user

  private

  def current_user
    return @current_user if defined?(@current_user)

    @current_user = session[:user_id] && User.find_by(id: session[:user_id], active: true)
  end

  def require_login
    return if current_user

    respond_to do |format|
      format.json { render json: { error: "Log in first." }, status: :unauthorized }
      format.any { redirect_to login_path(next: request.path) }
    end
  end

  def centrifuge
    @centrifuge ||= CentrifugeApi.from_config
  end

  def token_info
    { name: current_user ? current_user.name : "anonymous" }
  end
end
