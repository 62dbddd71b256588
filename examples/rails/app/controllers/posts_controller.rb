class PostsController < ApplicationController
  def index
    @posts = Post.includes(:user).order(created_at: :desc, id: :desc)
  end

  def show
    @post = Post.find(params[:id])
    @comments = @post.comments.includes(:user)
    @live = {
      endpoint: centrifuge.websocket_url,
      token: centrifuge.connection_token(current_user&.id, info: token_info),
      post: @post.id,
      channel: Channels.post(@post.id),
      replies: current_user && Channels.replies(current_user.id),
      moderation: nil,
      user: current_user ? current_user.id.to_s : "",
      username: current_user ? current_user.name : "",
    }
  end
end
